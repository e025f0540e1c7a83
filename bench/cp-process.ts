// The real control plane for the benchmark, in its own process so its CPU and RSS are its
// own. Usage: tsx bench/cp-process.ts <DATABASE_URL> <admin password>
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp } from '../apps/control-plane/src/app';
import { loadConfig } from '../apps/control-plane/src/config';

const [databaseUrl, adminPassword] = process.argv.slice(2);
const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: databaseUrl,
  STREAMSPACE_DATA_DIR: await mkdtemp(join(tmpdir(), 'streamspace-bench-cp-')),
  STREAMSPACE_ADMIN_PASSWORD: adminPassword,
  STREAMSPACE_EMBEDDED_AGENT: 'none',
  STREAMSPACE_LOG_LEVEL: 'warn',
  // A benchmark may bound the heartbeat interval (bench/control-plane-scale.ts).
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => key.startsWith('STREAMSPACE_HEARTBEAT_')),
  ),
});
// Logs go to stderr: stdout carries only the address line bench/paths.ts reads (a warning
// at start, e.g. no built web UI, would otherwise be taken for it).
const app = await createApp({
  config,
  logger: pino({ level: config.logLevel }, pino.destination(2)),
});
await app.start();
process.stdout.write(`${JSON.stringify({ url: app.url() })}\n`);
process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));
