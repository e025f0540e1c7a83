/**
 * Icons the UI draws itself, so a template's icon looks the same on machines without an
 * emoji font. A template names one (`desktop`) or uses the matching emoji; any other emoji
 * is shown as text and anything else as a monogram.
 */
const PATHS: Record<string, string> = {
  desktop: 'M3 4h18v12H3z M8 20h8 M12 16v4',
  terminal: 'M3 4h18v16H3z M7 9l3 3-3 3 M12 15h5',
  browser: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18 M3 12h18 M12 3c3 3 3 15 0 18 M12 3c-3 3-3 15 0 18',
  code: 'M8 7l-5 5 5 5 M16 7l5 5-5 5 M14 4l-4 16',
  files: 'M3 6h7l2 2h9v11H3z',
};

const ALIASES: Record<string, string> = {
  '🖥️': 'desktop',
  '🖥': 'desktop',
  '💻': 'code',
  '⌨️': 'terminal',
  '⌨': 'terminal',
  '🌐': 'browser',
  '🦊': 'browser',
  '📁': 'files',
  firefox: 'browser',
  chromium: 'browser',
  ide: 'code',
  vscode: 'code',
};

export function AppIcon({ icon, name }: { icon: string; name: string }) {
  const key = ALIASES[icon] ?? ALIASES[icon.toLowerCase()] ?? icon.toLowerCase();
  const path = PATHS[key];
  let content;
  if (path) {
    content = (
      <svg
        viewBox="0 0 24 24"
        width="24"
        height="24"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.8"
        strokeLinecap="round"
        strokeLinejoin="round"
      >
        <path d={path} />
      </svg>
    );
  } else if (/\p{Extended_Pictographic}/u.test(icon)) {
    content = icon;
  } else {
    content = (icon || name).slice(0, 2).toUpperCase();
  }
  return (
    <span className="template-icon" aria-hidden="true">
      {content}
    </span>
  );
}
