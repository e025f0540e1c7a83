import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** X displays the local agent hands out. :0–:9 are left to the host's own desktops. */
export interface DisplayRange {
  first: number;
  last: number;
}

export const DEFAULT_DISPLAY_RANGE: DisplayRange = { first: 10, last: 899 };

/** RFB's convention (RFC 6143 §1.1 history, every VNC server): display :N listens on 5900 + N. */
export const RFB_BASE_PORT = 5900;

/**
 * Whether an X server (ours, another agent's, a developer's) already holds display :N: the X
 * server's lock file and its Unix socket live under /tmp by convention.
 */
export function displayInUse(display: number, x11TmpDir = '/tmp'): boolean {
  return (
    existsSync(join(x11TmpDir, `.X${display}-lock`)) ||
    existsSync(join(x11TmpDir, '.X11-unix', `X${display}`))
  );
}

/**
 * The lowest display in range that neither this agent has reserved nor another X server
 * holds. Another process may still take it before Xvnc starts; the caller retries then.
 */
export function allocateDisplay(
  range: DisplayRange,
  reserved: ReadonlySet<number>,
  inUse: (display: number) => boolean,
): number | undefined {
  for (let display = range.first; display <= range.last; display += 1) {
    if (!reserved.has(display) && !inUse(display)) return display;
  }
  return undefined;
}

/** Try to bind 127.0.0.1:port (0 = any); resolves with the bound port or undefined. */
async function tryBind(port: number): Promise<number | undefined> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(true));
  });
  if (!bound) return undefined;
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return address !== null && typeof address === 'object' ? address.port : undefined;
}

/**
 * The RFB port for display :N: 5900 + N when it is free (so `vncviewer :N` habits keep
 * working), else any free loopback port.
 */
export async function allocatePort(
  display: number,
  reserved: ReadonlySet<number>,
): Promise<number> {
  const preferred = RFB_BASE_PORT + display;
  if (preferred <= 65_535 && !reserved.has(preferred)) {
    const port = await tryBind(preferred);
    if (port !== undefined) return port;
  }
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const port = await tryBind(0);
    if (port !== undefined && !reserved.has(port)) return port;
  }
  throw new Error('no free loopback port');
}
