import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '@streamspace/test-kit';
import { screenshot } from './launch-browser';
import { signIn, startWebFixture, type WebFixture } from './web-fixture';
import { apiCall } from '../support/api-call';

let web: WebFixture;

before(async () => {
  web = await startWebFixture({
    agent: { platform: 'local', name: 'local-idle' },
    prepare: (system, adminToken) =>
      // Two minutes: a warning from the start (under five minutes left), and room for a busy
      // machine to sign in and reach Keep alive before the session hibernates.
      apiCall(system.apiUrl, adminToken, 'PATCH', '/templates/terminal', {
        idleTimeoutMinutes: 2,
      }).then(() => undefined),
  });
});

after(() => web?.stop());

/** Seconds left in "Hibernates in 0m 42s", or null when no countdown is shown. */
function secondsLeft(text: string): number | null {
  const match = /Hibernates in (\d+)m (\d+)s/.exec(text);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

test('an idle session warns with a countdown, and Keep alive pushes hibernation back', async () => {
  const session = (await apiCall(web.system.apiUrl, web.adminToken, 'POST', '/sessions', {
    templateId: 'terminal',
    platform: 'local',
  })) as { id: string };

  const { page, errors } = await web.browser.newPage();
  await signIn(page, web.system, 'admin', web.system.adminPassword);
  await page.getByRole('link', { name: 'My sessions' }).click();
  const row = page.locator(`tr[data-session-id="${session.id}"]`);
  await row.getByText('running', { exact: true }).waitFor({ timeout: 60_000 });

  // Under five minutes left: the countdown is a warning with a way to keep the session.
  const idle = row.locator('.countdown-warn');
  await idle.waitFor();
  const first = secondsLeft(await idle.innerText());
  assert.ok(first !== null && first <= 120, `a two-minute countdown: ${await idle.innerText()}`);
  await waitFor(
    'the countdown to run down',
    async () => (secondsLeft(await idle.innerText()) ?? 120) <= first - 3,
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  await screenshot(page, 'idle-countdown');

  const lowered = secondsLeft(await idle.innerText()) ?? 0;
  await row.getByRole('button', { name: 'Keep alive' }).click();
  await waitFor(
    'Keep alive to push the countdown back',
    async () => (secondsLeft(await idle.innerText()) ?? 0) >= lowered + 2,
    { timeoutMs: 15_000, intervalMs: 250 },
  );

  // The viewer warns too, over the desktop.
  await row.getByRole('link', { name: 'Open' }).click();
  const banner = page.locator('.idle-banner');
  await banner.getByText(/Hibernates in \dm \d+s/).waitFor();
  await banner.getByRole('button', { name: 'Keep alive' }).waitFor();
  await page
    .locator('[data-testid="viewer-status"]')
    .filter({ hasText: 'Connected' })
    .waitFor({ timeout: 30_000 });
  await screenshot(page, 'viewer-idle-warning');
  assert.deepEqual(errors, []);
  await page.close();
});
