// Test launcher: one embedded PostgreSQL for the whole run (each test file makes its own
// database in it), then Node's test runner over every *.test.ts, then one summary line.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  startEmbeddedPostgres,
  TEST_DATABASE_URL_ENV,
} from '../packages/test-kit/src/test-postgres';

const ROOTS = ['packages', 'apps', 'agents', 'e2e'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.cache', 'data']);

async function findTests(path: string): Promise<string[]> {
  const info = await stat(path);
  if (info.isFile()) return path.endsWith('.test.ts') ? [path] : [];
  const found: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    found.push(...(await findTests(join(path, entry.name))));
  }
  return found.sort();
}

const requested = process.argv.slice(2);
const files = (await Promise.all((requested.length > 0 ? requested : ROOTS).map(findTests))).flat();
if (files.length === 0) {
  console.error('no test files found');
  console.log('0 passed, 0 failed');
  process.exit(1);
}

const postgres = await startEmbeddedPostgres();
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.STREAMSPACE_TEST_CONCURRENCY ?? '2'}`,
    '--test-timeout=180000',
    ...files.map((file) => relative(process.cwd(), file)),
  ],
  {
    env: { ...process.env, [TEST_DATABASE_URL_ENV]: postgres.url, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);

let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
});
const code: number = await new Promise((resolve) =>
  child.on('exit', (exitCode) => resolve(exitCode ?? 1)),
);
await postgres.stop();

const count = (label: string): number =>
  Number(new RegExp(`ℹ ${label} (\\d+)`).exec(tail)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
const ok = code === 0 && failed === 0 && passed > 0;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(ok ? 0 : 1);
