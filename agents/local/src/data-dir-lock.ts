import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DriverError } from '@streamspace/session-driver';

/** Data directories held by drivers in this process. */
const heldHere = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claim `<dataDir>/agent.pid` for this driver. Two agents on one data directory would adopt,
 * allocate and tear down the same sessions, so the second one is refused; a lock left by an
 * agent that died (its pid no longer runs) is taken over. Returns the release function.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const key = resolve(dataDir);
  const file = join(key, 'agent.pid');
  if (heldHere.has(key)) {
    throw new DriverError('platform_error', `data directory ${key} is in use by this process`);
  }
  try {
    await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (holder > 0 && holder !== process.pid && processAlive(holder)) {
      throw new DriverError('platform_error', `data directory ${key} is in use by pid ${holder}`);
    }
    await writeFile(file, `${process.pid}\n`, { mode: 0o600 });
  }
  heldHere.add(key);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    heldHere.delete(key);
    await rm(file, { force: true });
  };
}
