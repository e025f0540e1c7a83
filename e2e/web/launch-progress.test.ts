import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshot } from './launch-browser';
import { signIn, startWebFixture, type WebFixture } from './web-fixture';
import {
  assertProgressInOrder,
  describeProgress,
  installProgressRecorder,
  progressLog,
  waitForPhase,
} from './progress-recorder';
import { waitForDesktop } from './viewer-helpers';
import { apiCall } from '../support/api-call';
import { apiLogin } from './web-system';

/**
 * What a user sees between pressing Launch (or Wake) and the desktop, recorded in the page by
 * a MutationObserver, so even a state shown for one frame counts: the steps must go forward
 * in order and no error may flash by.
 */
const USER = { username: 'lin', password: 'progress-pass-1' };
const CONNECTING = 'viewer:Connecting to the desktop…';
let page: Page;
let sessionId = '';
let web: WebFixture;

before(async () => {
  web = await startWebFixture({
    agent: { platform: 'local', name: 'local-progress' },
    prepare: (system, adminToken) =>
      apiCall(system.apiUrl, adminToken, 'POST', '/users', { ...USER, role: 'user' }).then(
        () => undefined,
      ),
  });
});

after(() => web?.stop());

test('launch: finding an agent, placed and starting, running, connecting, then the desktop', async (t) => {
  const tracked = await web.browser.newPage();
  page = tracked.page;
  await installProgressRecorder(page);
  await signIn(page, web.system, USER.username, USER.password);
  await page.getByRole('button', { name: 'Launch Terminal' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/Local machine/).check();
  await progressLog(page, { clear: true });
  await dialog.getByRole('button', { name: 'Launch' }).click();

  await waitForPhase(page, 'launch:starting');
  await screenshot(page, 'launch-progress-starting');
  const first = await waitForDesktop(page, 60_000);
  assert.ok(first.detail > 0.01, 'the desktop draws');
  sessionId = /\/sessions\/([0-9a-f-]+)\/view/.exec(page.url())?.[1] ?? '';

  const log = await progressLog(page);
  t.diagnostic(describeProgress(log));
  assertProgressInOrder(
    log,
    ['launch:requested', 'launch:starting', 'launch:running', CONNECTING, 'viewer:connected'],
    // "running" may last less than a frame: the dialog opens the viewer at once.
    ['launch:requested', 'launch:starting', CONNECTING, 'viewer:connected'],
  );
  const starting = log.find((entry) => entry.launch?.state === 'starting');
  assert.equal(starting?.launch?.step, 'starting', 'the current step is "Starting the desktop"');
  assert.match(
    starting?.launch?.reason ?? '',
    /agent "local-progress" \(Local machine\)/,
    'it says where the start went',
  );
  assert.deepEqual(tracked.errors, []);
  assert.deepEqual(tracked.serverErrors, []);
});

test('hibernate then wake: hibernating, hibernated, waking, connecting, then the desktop', async (t) => {
  assert.ok(sessionId, 'needs the session from the previous test');
  const userToken = await apiLogin(web.system.apiUrl, USER.username, USER.password);
  await progressLog(page, { clear: true });
  await apiCall(web.system.apiUrl, userToken, 'POST', `/sessions/${sessionId}/hibernate`);
  await waitForPhase(page, 'viewer:This session is hibernated');
  const hibernation = await progressLog(page, { clear: true });
  t.diagnostic(`hibernate: ${describeProgress(hibernation)}`);
  assertProgressInOrder(
    hibernation,
    ['viewer:connected', 'viewer:The session is hibernating…', 'viewer:This session is hibernated'],
    ['viewer:This session is hibernated'],
  );

  await page.getByRole('button', { name: 'Wake session' }).click();
  await waitForPhase(page, 'viewer:Waking the session…');
  await screenshot(page, 'viewer-waking');
  const woken = await waitForDesktop(page, 60_000);
  assert.ok(woken.detail > 0.01, 'the desktop is back');
  const wake = await progressLog(page);
  t.diagnostic(`wake: ${describeProgress(wake)}`);
  assertProgressInOrder(wake, ['viewer:Waking the session…', CONNECTING, 'viewer:connected']);
});
