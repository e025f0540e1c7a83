import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SessionSpec } from '@streamspace/protocol';
import type { ConformanceHarness } from '@streamspace/session-driver/conformance';
import { testSessionSpec } from '@streamspace/test-kit';
import { createLocalDriver, type LocalDriverOptions } from '../src/local-driver';

/** A valid local spec: twm + xterm, fresh ids, a random VNC password. */
export function makeLocalSpec(overrides: Partial<SessionSpec> = {}): SessionSpec {
  return testSessionSpec({ templateId: 'xterm', image: 'local', ...overrides });
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'streamspace-local-'));
}

/** The conformance harness for the local driver on a fresh data directory. */
export async function createLocalHarness(
  options: Partial<LocalDriverOptions> = {},
): Promise<ConformanceHarness & { dataDir: string }> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  const driver = await createLocalDriver({ stopGraceMs: 2_000, ...options, dataDir });
  const homePath = (homeKey: string, relativePath: string): string =>
    join(dataDir, 'homes', homeKey, relativePath);
  return {
    dataDir,
    driver,
    makeSpec: makeLocalSpec,
    missingImageSpec: () => makeLocalSpec({ app: ['streamspace-no-such-app'] }),
    writeHomeFile: async (homeKey, relativePath, bytes) => {
      const path = homePath(homeKey, relativePath);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    },
    readHomeFile: async (homeKey, relativePath) =>
      readFile(homePath(homeKey, relativePath)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw error;
      }),
    killSession: async (sessionId) => {
      const observation = await driver.inspect(sessionId);
      const pid = Number(observation?.details.pid);
      if (!(pid > 0)) throw new Error(`session ${sessionId} has no Xvnc pid to kill`);
      process.kill(pid, 'SIGKILL');
    },
    cleanup: async () => {
      await driver.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
