import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { ensureTestSessionImage, waitFor } from '@streamspace/test-kit';
import { screenshot } from './launch-browser';
import { signIn, startWebFixture, type WebFixture } from './web-fixture';
import {
  assertProgressInOrder,
  describeProgress,
  installProgressRecorder,
  progressLog,
  waitForPhase,
} from './progress-recorder';
import { canvasStats, clickRemote, waitForDesktop } from './viewer-helpers';
import { apiCall } from '../support/api-call';

const docker = new Docker();
const network = `streamspace-e2e-web-${randomBytes(4).toString('hex')}`;
let web: WebFixture;

before(async () => {
  const image = await ensureTestSessionImage();
  // The agent runs in a Docker scope of its own (start-agent.ts), so it reports only the
  // containers this test made and the default orphan policy cannot touch anyone else's.
  web = await startWebFixture({
    prepare: async (system, adminToken) => {
      await apiCall(system.apiUrl, adminToken, 'POST', '/templates', {
        id: 'docker-terminal',
        name: 'Docker terminal',
        description: 'An xterm in a container.',
        icon: 'terminal',
        image,
        app: ['xterm'],
        resources: { cpuMillis: 1000, memoryMb: 512 },
      });
    },
    // The Docker driver's flags (--network, --scope, ...) are declared in the agent's
    // parseArgs, so `--network value` works as well as `--network=value`.
    agent: { platform: 'docker', name: 'docker-e2e', extraArgs: [`--network=${network}`] },
    deleteHomes: true,
  });
});

after(async () => {
  await web?.stop();
  await docker
    .getNetwork(network)
    .remove()
    .catch(() => {});
});

const CONNECTING = 'viewer:Connecting to the desktop…';

test('a desktop on the Docker agent: pixels, typing, hibernate and wake', async (t) => {
  const { page, errors, serverErrors } = await web.browser.newPage();
  await installProgressRecorder(page);
  await signIn(page, web.system, 'admin', web.system.adminPassword);

  await page.getByRole('button', { name: 'Launch Docker terminal' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/Docker/).check();
  assert.match(await dialog.locator('label', { hasText: 'Docker' }).innerText(), /1 agent online/);
  await progressLog(page, { clear: true });
  await dialog.getByRole('button', { name: 'Launch' }).click();
  // A container takes a moment to start: the in-between step is on screen long enough to see.
  await waitForPhase(page, 'launch:starting');
  await screenshot(page, 'launch-progress-starting-docker');
  await page.waitForURL(/\/sessions\/[0-9a-f-]+\/view$/, { timeout: 90_000 });
  const sessionId = /\/sessions\/([0-9a-f-]+)\/view/.exec(page.url())?.[1] ?? '';

  await page
    .locator('[data-testid="viewer-status"]')
    .filter({ hasText: 'Connected' })
    .waitFor({ timeout: 60_000 });
  // twm places the xterm by itself (the session image configures RandomPlacement).
  const first = await waitForDesktop(page, 60_000);
  assert.ok(first.detail > 0.01, 'the canvas shows the container desktop');
  const launch = await progressLog(page);
  t.diagnostic(`launch: ${describeProgress(launch)}`);
  assertProgressInOrder(
    launch,
    ['launch:requested', 'launch:starting', 'launch:running', CONNECTING, 'viewer:connected'],
    ['launch:starting', CONNECTING, 'viewer:connected'],
  );
  await clickRemote(page, 0.2, 0.25);
  const before = (await canvasStats(page))?.hash;
  await page.keyboard.type('echo docker-desktop', { delay: 20 });
  await page.keyboard.press('Enter');
  await waitFor(
    'typed text to change the remote screen',
    async () => (await canvasStats(page))?.hash !== before,
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  await screenshot(page, 'viewer-docker');

  await apiCall(web.system.apiUrl, web.adminToken, 'POST', `/sessions/${sessionId}/hibernate`);
  await page
    .getByRole('heading', { name: 'This session is hibernated' })
    .waitFor({ timeout: 60_000 });
  await progressLog(page, { clear: true });
  await page.getByRole('button', { name: 'Wake session' }).click();
  await page
    .locator('[data-testid="viewer-status"]')
    .filter({ hasText: 'Connected' })
    .waitFor({ timeout: 90_000 })
    .catch(async (error: Error) => {
      await screenshot(page, 'failure-wake');
      const session = await apiCall(
        web.system.apiUrl,
        web.adminToken,
        'GET',
        `/sessions/${sessionId}`,
      );
      throw new Error(`${error.message}\nsession: ${JSON.stringify(session)}`);
    });
  const woken = await waitForDesktop(page, 60_000);
  assert.ok(woken.detail > 0.01, 'the desktop is back after waking');
  const wake = await progressLog(page);
  t.diagnostic(`wake: ${describeProgress(wake)}`);
  assertProgressInOrder(wake, ['viewer:Waking the session…', CONNECTING, 'viewer:connected']);

  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});
