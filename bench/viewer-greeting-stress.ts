// The "first-viewer stall" reproduction: new viewers on sessions right after start and wake,
// with the CPU loaded by busy-loop child processes, timing each viewer's RFB greeting (the 12
// bytes "RFB 003.008\n") from `new WebSocket` on. Two client patterns are compared:
//
// - await-open:   await 'open', then createWebSocketStream(ws) (what e2e did until the fix);
// - stream-first: createWebSocketStream(ws) at once, then await 'open' (the fix).
//
// `ws` emits 'message' whether or not anyone listens, and a greeting that reaches the client
// in the same TCP read as the 101 response is emitted (on a nextTick) before an awaited
// 'open' continues: await-open then waits forever for bytes it already dropped. A busy client
// (descheduled on a loaded machine) reads late, so both arrive together.
// --client-stall-ms makes that deterministic: the client's event loop is blocked for that
// long once its upgrade request is written, as a descheduled test process would be.
//
// --client-jitter-ms N blocks it instead at random: 0–N ms, every 0–2N ms, the whole run (a
// test process decoding framebuffers or collecting garbage), aligned with nothing.
//
//   npx tsx bench/viewer-greeting-stress.ts [--platform local|docker] [--sessions 2]
//     [--cycles 3] [--viewers 4] [--load 2] [--client-stall-ms 0] [--client-jitter-ms 0]
//     [--deadline-s 600]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { createWebSocketStream, WebSocket } from 'ws';
import type { ConnectResponse } from '@streamspace/protocol';
import {
  ensureTestSessionImage,
  startEmbeddedPostgres,
  TEST_DATABASE_URL_ENV,
} from '@streamspace/test-kit';
import { dockerScopeEnv, LifecycleClient, removeDockerScope } from '../e2e/lifecycle-support';
import { startSystem } from '../e2e/support/start-system';

const { values } = parseArgs({
  options: {
    platform: { type: 'string', default: 'local' },
    sessions: { type: 'string', default: '2' },
    /** Start, then (cycles - 1) hibernate/wake rounds per session. */
    cycles: { type: 'string', default: '3' },
    /** Viewers opened at once per session right after each start or wake. */
    viewers: { type: 'string', default: '4' },
    /** Busy-loop child processes loading the CPU for the whole run. */
    load: { type: 'string', default: '2' },
    'client-stall-ms': { type: 'string', default: '0' },
    'client-jitter-ms': { type: 'string', default: '0' },
    'deadline-s': { type: 'string', default: '600' },
  },
});
const platform = values.platform === 'docker' ? 'docker' : 'local';
const sessionCount = Number(values.sessions);
const cycles = Number(values.cycles);
const viewersPerBurst = Number(values.viewers);
const stallMs = Number(values['client-stall-ms']);
const jitterMs = Number(values['client-jitter-ms']);
const deadline = performance.now() + Number(values['deadline-s']) * 1000;
const GREETING_TIMEOUT_MS = 10_000;

type Pattern = 'await-open' | 'stream-first';
interface Sample {
  pattern: Pattern;
  after: 'start' | 'wake';
  /** Time to the 12-byte greeting, or undefined when none came within 10 s. */
  ms: number | undefined;
}

/** Block this process's event loop, as a descheduled or busy test process would be. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function greeting(stream: Duplex): Promise<number | undefined> {
  const started = performance.now();
  return new Promise((resolve) => {
    let bytes = 0;
    const timer = setTimeout(() => resolve(undefined), GREETING_TIMEOUT_MS);
    stream.on('error', () => {});
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= 12) {
        clearTimeout(timer);
        resolve(performance.now() - started);
      }
    });
  });
}

async function viewer(client: LifecycleClient, sessionId: string, pattern: Pattern) {
  const connect = await client.request<ConnectResponse>(
    'POST',
    `/api/v1/sessions/${sessionId}/connect`,
  );
  const started = performance.now();
  const ws = new WebSocket(`${client.baseUrl.replace(/^http/, 'ws')}${connect.url}`, {
    origin: client.baseUrl,
    perMessageDeflate: false,
  });
  ws.on('error', () => {});
  if (stallMs > 0) {
    const request = (ws as unknown as { _req: ClientRequest })._req;
    request.once('finish', () => blockFor(stallMs));
  }
  let stream: Duplex;
  if (pattern === 'stream-first') {
    stream = createWebSocketStream(ws);
    await once(ws, 'open');
  } else {
    await once(ws, 'open');
    stream = createWebSocketStream(ws);
  }
  const got = await greeting(stream);
  ws.terminate();
  return got === undefined ? undefined : performance.now() - started;
}

async function burst(client: LifecycleClient, sessionId: string, after: Sample['after']) {
  const patterns: Pattern[] = Array.from({ length: viewersPerBurst }, (_, i) =>
    i % 2 === 0 ? 'await-open' : 'stream-first',
  );
  const results = await Promise.all(patterns.map((p) => viewer(client, sessionId, p)));
  return results.map((ms, i): Sample => ({ pattern: patterns[i]!, after, ms }));
}

function busyLoops(count: number): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
}

/** Random event-loop blocks until stopped; see --client-jitter-ms. */
function jitter(maxMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    timer = setTimeout(
      () => {
        blockFor(Math.random() * maxMs);
        next();
      },
      Math.random() * 2 * maxMs,
    );
  };
  if (maxMs > 0) next();
  return () => clearTimeout(timer);
}

function summary(samples: Sample[], pattern: Pattern): string {
  const mine = samples.filter((s) => s.pattern === pattern);
  const times = mine.flatMap((s) => (s.ms === undefined ? [] : [s.ms])).sort((a, b) => a - b);
  const stalls = (after: Sample['after']) =>
    mine.filter((s) => s.after === after && s.ms === undefined).length;
  const at = (q: number) =>
    Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN);
  return (
    `${pattern.padEnd(12)} viewers ${mine.length}, no greeting in 10 s: ` +
    `${stalls('start')} after start + ${stalls('wake')} after wake, ` +
    `greeting p50 ${at(0.5)} ms, max ${at(1)} ms`
  );
}

const postgres = await startEmbeddedPostgres();
process.env[TEST_DATABASE_URL_ENV] = postgres.url;
const scope = dockerScopeEnv();
const image = platform === 'docker' ? await ensureTestSessionImage() : '';
const system = await startSystem({ embeddedAgent: platform, env: scope });
const load = busyLoops(Number(values.load));
const stopJitter = jitter(jitterMs);
const samples: Sample[] = [];
try {
  const client = new LifecycleClient(system.baseUrl, await system.login());
  if (platform === 'docker') await client.useImage('terminal', image);
  await Promise.all(
    Array.from({ length: sessionCount }, async () => {
      const { id } = await client.create('terminal', platform);
      await client.waitForState(id, ['running'], 90_000, 5);
      samples.push(...(await burst(client, id, 'start')));
      for (let cycle = 1; cycle < cycles && performance.now() < deadline; cycle += 1) {
        await client.action(id, 'hibernate');
        await client.waitForState(id, ['hibernated'], 90_000);
        await client.action(id, 'wake');
        await client.waitForState(id, ['running'], 90_000, 5);
        samples.push(...(await burst(client, id, 'wake')));
      }
      await client.remove(id, true);
      await client.waitForState(id, ['stopped'], 90_000).catch(() => {});
    }),
  );
} finally {
  stopJitter();
  for (const child of load) child.kill('SIGKILL');
  await system.close();
  if (platform === 'docker') await removeDockerScope(scope.STREAMSPACE_DOCKER_SCOPE);
  await postgres.stop();
}
console.log(
  `${platform}: ${sessionCount} sessions × ${cycles} start/wake × ${viewersPerBurst} viewers, ` +
    `load ${values.load} busy loops, client stall ${stallMs} ms, jitter ${jitterMs} ms`,
);
for (const pattern of ['await-open', 'stream-first'] as const)
  console.log(summary(samples, pattern));
