// Time to first pixel (issue 5 item 5): request → first framebuffer update, for start and for
// wake, on the Docker and local agents, through the REST API and /vnc with the RFB probe.
// Baseline in the same run: the same driver started directly and read over plain TCP, so
// the ratio shows what the control plane, the agent link and the proxy add.
//
//   npx tsx bench/first-pixel.ts [--platform docker|local|both] [--runs 5] [--only baseline]
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { DEFAULT_VNC_PORT, type Endpoint, type SessionSpec } from '@streamspace/protocol';
import type { SessionDriver } from '@streamspace/session-driver';
import {
  ensureTestSessionImage,
  RfbProbe,
  startEmbeddedPostgres,
  TEST_DATABASE_URL_ENV,
} from '@streamspace/test-kit';
import { createDockerDriver } from '../agents/docker/src/docker-driver';
import { createLocalDriver } from '../agents/local/src/local-driver';
import { dockerScopeEnv, LifecycleClient, removeDockerScope } from '../e2e/lifecycle-support';
import { startSystem } from '../e2e/support/start-system';

type Platform = 'docker' | 'local';

const { values } = parseArgs({
  options: {
    platform: { type: 'string', default: 'both' },
    runs: { type: 'string', default: '5' },
    /** `baseline` measures only the drivers (when no control plane can run). */
    only: { type: 'string', default: 'both' },
  },
});
const runs = Number(values.runs);
const platforms: Platform[] =
  values.platform === 'both' ? ['docker', 'local'] : [values.platform as Platform];

interface Samples {
  start: number[];
  wake: number[];
  /** Full path only: request → the API reports running (the rest is /vnc → first pixel). */
  startRunning?: number[];
  wakeRunning?: number[];
}

async function firstPixelOverTcp(endpoint: Endpoint, password: string): Promise<void> {
  const socket = connect(endpoint.port, endpoint.host);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const probe = await RfbProbe.connect(socket, { password });
  probe.setPixelFormat();
  probe.requestUpdate(false);
  await probe.readUpdate();
  probe.close();
}

/** The driver alone: start() / wake() → TCP → RFB → first framebuffer update. */
async function baseline(platform: Platform, image: string): Promise<Samples> {
  const dataDir = await mkdtemp(join(tmpdir(), 'streamspace-bench-'));
  const suffix = randomBytes(4).toString('hex');
  const driver: SessionDriver =
    platform === 'docker'
      ? createDockerDriver({ scope: `bench-${suffix}`, network: `streamspace-bench-${suffix}` })
      : await createLocalDriver({ dataDir });
  const samples: Samples = { start: [], wake: [] };
  const homeKey = `bench${suffix}`;
  try {
    for (let run = 0; run < runs; run += 1) {
      const spec: SessionSpec = {
        sessionId: randomUUID(),
        userId: randomUUID(),
        templateId: 'terminal',
        image,
        app: ['xterm'],
        windowManager: 'twm',
        resources: { cpuMillis: 500, memoryMb: 512 },
        geometry: { width: 1280, height: 800 },
        homeKey,
        vncPassword: randomBytes(6).toString('hex'),
        vncPort: DEFAULT_VNC_PORT,
        env: {},
      };
      let t0 = performance.now();
      let started = await driver.start(spec);
      await firstPixelOverTcp(started.observation.endpoint!, spec.vncPassword);
      samples.start.push(performance.now() - t0);
      await driver.hibernate(spec.sessionId);
      t0 = performance.now();
      started = await driver.wake(spec);
      await firstPixelOverTcp(started.observation.endpoint!, spec.vncPassword);
      samples.wake.push(performance.now() - t0);
      await driver.stop(spec.sessionId, { deleteHome: run === runs - 1, homeKey });
    }
  } finally {
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
    if (platform === 'docker') {
      // The driver creates its sessions network on first start and leaves it for the next.
      await new Docker()
        .getNetwork(`streamspace-bench-${suffix}`)
        .remove()
        .catch(() => {});
    }
  }
  return samples;
}

/** The whole path: REST request → agent → running → /vnc ticket → RFB → first update. */
async function fullPath(platform: Platform, image: string): Promise<Samples> {
  const scope = dockerScopeEnv();
  const system = await startSystem({ embeddedAgent: platform, env: scope });
  const samples: Samples = { start: [], wake: [], startRunning: [], wakeRunning: [] };
  try {
    const client = new LifecycleClient(system.baseUrl, await system.login());
    if (platform === 'docker') await client.useImage('terminal', image);
    for (let run = 0; run < runs; run += 1) {
      let t0 = performance.now();
      const session = await client.create('terminal', platform);
      await client.waitForState(session.id, ['running'], 60_000, 5);
      samples.startRunning!.push(performance.now() - t0);
      let { probe } = await client.firstFramebuffer(session.id);
      samples.start.push(performance.now() - t0);
      probe.close();
      await client.action(session.id, 'hibernate');
      await client.waitForState(session.id, ['hibernated'], 60_000);
      t0 = performance.now();
      await client.action(session.id, 'wake');
      await client.waitForState(session.id, ['running'], 60_000, 5);
      samples.wakeRunning!.push(performance.now() - t0);
      ({ probe } = await client.firstFramebuffer(session.id));
      samples.wake.push(performance.now() - t0);
      probe.close();
      await client.remove(session.id, run === runs - 1);
      await client.waitForState(session.id, ['stopped'], 60_000);
    }
  } finally {
    await system.close();
    if (platform === 'docker') await removeDockerScope(scope.STREAMSPACE_DOCKER_SCOPE);
  }
  return samples;
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), min: sorted[0]!, max: sorted.at(-1)! };
}

const ms = (value: number) => `${Math.round(value)} ms`;
// One PostgreSQL server for the run, stopped at the end (the systems get a database each).
const postgres = await startEmbeddedPostgres();
process.env[TEST_DATABASE_URL_ENV] = postgres.url;
const image = platforms.includes('docker') ? await ensureTestSessionImage() : '';
const rows: string[] = [];
for (const platform of platforms) {
  const direct = await baseline(platform, image);
  const full = values.only === 'baseline' ? direct : await fullPath(platform, image);
  for (const kind of ['start', 'wake'] as const) {
    const f = stats(full[kind]);
    const d = stats(direct[kind]);
    const running = full[kind === 'start' ? 'startRunning' : 'wakeRunning'];
    const r = running !== undefined && running.length > 0 ? ms(stats(running).median) : 'n/a';
    rows.push(
      `| ${platform} | ${kind} | ${ms(f.median)} (${ms(f.min)}–${ms(f.max)}) | ${r} | ` +
        `${ms(d.median)} (${ms(d.min)}–${ms(d.max)}) | ${(f.median / d.median).toFixed(2)}× | ` +
        `${f.median <= 2000 ? 'yes' : 'no'} |`,
    );
  }
}
await postgres.stop();
console.log(
  `runs per row: ${runs}; median (min–max); load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);
console.log(
  '| agent | request | REST + /vnc (full path) | of which until the API says running | driver alone (baseline) | ratio | ≤ 2 s |',
);
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
// Docker's HTTP agent and the drivers' timers may hold the loop open; the work is done.
process.exit(0);
