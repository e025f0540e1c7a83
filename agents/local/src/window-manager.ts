import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WindowManager } from '@streamspace/protocol';

/**
 * twm's default makes the user click to place every new window: in a browser that looks like
 * an empty desktop with an outline stuck to the pointer. Place windows without asking.
 */
const TWMRC = `RandomPlacement
UsePPosition "on"
NoGrabServer
DecorateTransients
`;

/** Write the agent's window manager configuration under `<dataDir>/config`. */
export async function writeWindowManagerConfig(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'config');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'twmrc'), TWMRC, { mode: 0o600 });
  return dir;
}

/** The command line that starts `windowManager` (already resolved to `executable`). */
export function windowManagerCommand(
  windowManager: WindowManager,
  executable: string,
  configDir: string,
): string[] {
  return windowManager === 'twm' ? [executable, '-f', join(configDir, 'twmrc')] : [executable];
}
