import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, type TestBrowser } from './launch-browser';
import { signIn } from './web-fixture';
import { startAgent, type RunningAgent } from '../support/start-agent';
import { apiLogin, startWebSystem, type WebSystem } from './web-system';

let system: WebSystem;
let browser: TestBrowser;
let agent: RunningAgent | undefined;
let adminToken: string;

before(async () => {
  // start-system's 1 s heartbeats with a 6 s timeout: a stopped agent shows offline at once
  // (its socket closes) or within 6 s if that close were missed, and a busy machine late with
  // a heartbeat does not flip a healthy agent offline in the middle of the test.
  system = await startWebSystem({ embeddedAgent: 'none' });
  adminToken = await apiLogin(system.apiUrl, 'admin', system.adminPassword);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await agent?.stop();
  await system?.stop();
});

test('with no agent online, launching says so instead of failing later', async () => {
  const { page, errors } = await browser.newPage();
  await signIn(page, system, 'admin', system.adminPassword);
  await page.getByRole('button', { name: 'Launch Terminal' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('No agent is online for any platform').waitFor();
  assert.equal(await dialog.getByRole('button', { name: 'Launch' }).isDisabled(), true);
  await screenshot(page, 'launch-no-agent');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.deepEqual(errors, []);
  await page.close();
});

test('Add agent shows a working command; the agent appears online, drains, goes offline', async () => {
  const { page, errors, serverErrors } = await browser.newPage();
  await page.goto(`${system.url}/admin/agents`);
  await page.getByText('No agents yet').waitFor();

  await page.getByRole('button', { name: 'Add agent' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Platform').selectOption('local');
  await dialog.getByRole('button', { name: 'Create token' }).click();
  const command = await dialog.getByTestId('agent-command').innerText();
  const match = /^STREAMSPACE_ENROLLMENT_TOKEN=(\S+) streamspace-agent local --url (\S+)$/.exec(
    command.trim(),
  );
  assert.ok(match, `the exact command is shown, the token outside the arguments: ${command}`);
  assert.equal(match[2], new URL(system.url).origin);
  await screenshot(page, 'admin-add-agent');
  await dialog.getByRole('button', { name: 'Done' }).click();

  // Run exactly what the page said (through scripts/streamspace-agent).
  agent = await startAgent(system.apiUrl, adminToken, 'local', 'ui-enrolled', {
    enrollmentToken: match[1],
  });
  const row = page.locator('tr[data-agent-name="ui-enrolled"]');
  await row.getByText('online', { exact: true }).waitFor({ timeout: 30_000 });
  const text = await row.innerText();
  assert.match(text, /local/);
  assert.match(text, /heartbeat (\d+ s|\d+m \d+s) ago/);
  assert.match(text, /0 \/ 4/);
  assert.match(text, /0\.1\.0/, 'the agent version is shown');
  await screenshot(page, 'admin-agents');

  await row.getByRole('button', { name: 'Drain ui-enrolled' }).click();
  await row.getByText('draining', { exact: true }).waitFor();
  await row.getByRole('button', { name: 'Undrain ui-enrolled' }).click();
  await row.getByText('online', { exact: true }).waitFor();

  await agent.stop();
  agent = undefined;
  await row.getByText('offline', { exact: true }).waitFor({ timeout: 30_000 });
  await screenshot(page, 'admin-agents-offline');

  await row.getByRole('button', { name: 'Delete ui-enrolled' }).click();
  await dialog.getByRole('button', { name: 'Delete agent' }).click();
  await row.waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});
