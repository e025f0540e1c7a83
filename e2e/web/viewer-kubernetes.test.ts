import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Session } from '@streamspace/protocol';
import {
  createKubeApiServer,
  ensureTestSessionImage,
  waitFor,
  type KubeApiServer,
} from '@streamspace/test-kit';
import { screenshot } from './launch-browser';
import { signIn, startWebFixture, type WebFixture } from './web-fixture';
import {
  assertProgressInOrder,
  describeProgress,
  installProgressRecorder,
  progressLog,
  waitForPhase,
} from './progress-recorder';
import { canvasStats, clickRemote, waitForDesktop, xtermTextLines } from './viewer-helpers';
import { apiCall } from '../support/api-call';
import { apiLogin } from './web-system';

/**
 * A Kubernetes agent against packages/test-kit's Kubernetes API server (its pods are Docker
 * containers of the session image): an admin sees it on the Agents page, a user launches an
 * app on it and works in the pod's desktop through the browser.
 */
const NAMESPACE = 'sessions';
const AGENT = 'kube-e2e';
const USER = { username: 'kim', password: 'kubernetes-pass-1' };
let cluster: KubeApiServer;
let web: WebFixture;

before(async () => {
  const image = await ensureTestSessionImage();
  cluster = await createKubeApiServer({ namespaces: ['default', NAMESPACE] });
  const kubeconfig = await cluster.writeKubeconfig(NAMESPACE);
  web = await startWebFixture({
    prepare: async (system, adminToken) => {
      await apiCall(system.apiUrl, adminToken, 'PATCH', '/templates/terminal', { image });
      await apiCall(system.apiUrl, adminToken, 'POST', '/users', { ...USER, role: 'user' });
    },
    // `--flag=value`: agent-cli parses platform flags non-strictly (e2e/kubernetes.test.ts).
    agent: {
      platform: 'kubernetes',
      name: AGENT,
      extraArgs: [`--kubeconfig=${kubeconfig}`, `--namespace=${NAMESPACE}`],
    },
    deleteHomes: true,
  });
});

after(async () => {
  await web?.stop();
  await cluster?.close();
});

test('the Agents page lists the Kubernetes agent online', async () => {
  const { page, errors } = await web.browser.newPage();
  await signIn(page, web.system, 'admin', web.system.adminPassword);
  await page.goto(`${web.system.url}/admin/agents`);
  const row = page.locator(`tr[data-agent-name="${AGENT}"]`);
  await row.getByText('online', { exact: true }).waitFor({ timeout: 30_000 });
  assert.equal((await row.locator('td[data-label="Platform"]').innerText()).trim(), 'kubernetes');
  await screenshot(page, 'admin-agents-kubernetes');
  assert.deepEqual(errors, []);
  await web.browser.context.clearCookies();
  await page.close();
});

test('a user launches on Kubernetes: a pod desktop draws, takes typed commands, hibernates and wakes', async (t) => {
  const { page, errors, serverErrors } = await web.browser.newPage();
  await installProgressRecorder(page);
  await signIn(page, web.system, USER.username, USER.password);
  await page.getByRole('button', { name: 'Launch Terminal' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/Kubernetes/).check();
  assert.match(
    await dialog.locator('label', { hasText: 'Kubernetes' }).innerText(),
    /1 agent online/,
  );
  await progressLog(page, { clear: true });
  await dialog.getByRole('button', { name: 'Launch' }).click();
  await waitForPhase(page, 'launch:starting');
  await screenshot(page, 'launch-progress-starting-kubernetes');

  await page.waitForURL(/\/sessions\/[0-9a-f-]+\/view$/, { timeout: 120_000 });
  const sessionId = /\/sessions\/([0-9a-f-]+)\/view/.exec(page.url())?.[1] ?? '';
  const session = (await apiCall(
    web.system.apiUrl,
    web.adminToken,
    'GET',
    `/sessions/${sessionId}`,
  )) as Session;
  assert.equal(session.platform, 'kubernetes');
  assert.equal(session.agentName, AGENT);
  assert.match(session.details.pod ?? '', /^ss-/, 'the session runs in a pod');

  const first = await waitForDesktop(page, 60_000);
  assert.ok(
    first.width >= 640 && first.height >= 400,
    `a real framebuffer (${first.width}x${first.height})`,
  );
  const launch = await progressLog(page);
  t.diagnostic(`launch: ${describeProgress(launch)}`);
  assertProgressInOrder(
    launch,
    [
      'launch:requested',
      'launch:starting',
      'launch:running',
      'viewer:Connecting to the desktop…',
      'viewer:connected',
    ],
    ['launch:starting', 'viewer:Connecting to the desktop…', 'viewer:connected'],
  );

  // Typed keys reach the pod's shell: clear, then a command whose output is a new line.
  await clickRemote(page, 0.2, 0.25);
  await page.keyboard.type('clear', { delay: 20 });
  await page.keyboard.press('Enter');
  await waitFor('the terminal to clear', async () => (await xtermTextLines(page)).length === 1, {
    timeoutMs: 15_000,
    intervalMs: 200,
  });
  const before = (await canvasStats(page))?.hash;
  await page.keyboard.type('echo pod-$((6*7))', { delay: 20 });
  await page.keyboard.press('Enter');
  // The shell ran it: the command line, its output line and a new prompt.
  await waitFor(
    'the typed command to run in the pod',
    async () => (await xtermTextLines(page)).length >= 3,
    { timeoutMs: 15_000, intervalMs: 200 },
  ).catch(async (error: Error) => {
    await screenshot(page, 'failure-kubernetes-typing');
    throw error;
  });
  assert.notEqual((await canvasStats(page))?.hash, before, 'the canvas changed');
  await screenshot(page, 'viewer-kubernetes');

  // Hibernate releases the pod; Wake brings a new one on the kept claim, with its own steps.
  const userToken = await apiLogin(web.system.apiUrl, USER.username, USER.password);
  await apiCall(web.system.apiUrl, userToken, 'POST', `/sessions/${sessionId}/hibernate`);
  await page
    .getByRole('heading', { name: 'This session is hibernated' })
    .waitFor({ timeout: 60_000 });
  await progressLog(page, { clear: true });
  await page.getByRole('button', { name: 'Wake session' }).click();
  await waitForPhase(page, 'viewer:Waking the session…');
  const woken = await waitForDesktop(page, 90_000);
  assert.ok(woken.detail > 0.01, 'the pod desktop is back after waking');
  const wake = await progressLog(page);
  t.diagnostic(`wake: ${describeProgress(wake)}`);
  assertProgressInOrder(wake, [
    'viewer:Waking the session…',
    'viewer:Connecting to the desktop…',
    'viewer:connected',
  ]);

  await page.goto(`${web.system.url}/sessions`);
  const row = page.locator(`tr[data-session-id="${sessionId}"]`);
  await row.getByText('running', { exact: true }).waitFor();
  assert.match(await row.innerText(), new RegExp(AGENT), 'My sessions names the agent');
  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});
