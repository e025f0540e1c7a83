import type { ReactNode } from 'react';

export function ErrorPanel({
  title,
  message,
  children,
}: {
  title: string;
  message: string;
  children?: ReactNode;
}) {
  return (
    <div className="panel panel-error" role="alert">
      <h2>{title}</h2>
      <p>{message}</p>
      {children}
    </div>
  );
}

/** An inline error line under a form or beside an action. */
export function InlineError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="inline-error" role="alert">
      {message}
    </p>
  );
}
