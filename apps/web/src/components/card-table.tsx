import type { ReactNode } from 'react';

/**
 * A table at laptop widths and a stack of cards on phones: the stylesheet turns each row into
 * a card and shows each cell's `data-label` beside its value. The last column holds the row's
 * actions and has a heading only screen readers announce.
 */
export function CardTable({ columns, children }: { columns: string[]; children: ReactNode }) {
  return (
    <table className="table table-cards">
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** One cell of a CardTable row; `label` is the column heading a phone's card shows. */
export function Cell({
  label,
  className,
  children,
}: {
  label: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <td data-label={label} className={className}>
      <div className="cell">{children}</div>
    </td>
  );
}
