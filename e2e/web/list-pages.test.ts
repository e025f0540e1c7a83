import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { Locator } from 'playwright-core';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import { launchBrowser, screenshot, type TestBrowser } from './launch-browser';
import { signIn } from './web-fixture';
import { apiCall } from '../support/api-call';
import { apiLogin, startWebSystem, type WebSystem } from './web-system';

// The long lists show a page (100) and "Show more" while the server has more (docs/api.md
// "Pagination"). Sessions and agents are written in SQL: the pages only read them, and 150
// launches through a real agent would take minutes.

const HIBERNATED = 150;
const STOPPED = 3;
const AGENTS = 105;

let database: TestDatabase;
let system: WebSystem;
let browser: TestBrowser;
let hibernatedIds: string[];

before(async () => {
  database = await createTestDatabase();
  system = await startWebSystem({
    embeddedAgent: 'none',
    database,
    // No lifecycle pass during the test: the seeded sessions keep their states.
    env: { STREAMSPACE_SCHEDULER_INTERVAL_SECONDS: '3600' },
  });
  browser = await launchBrowser();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const admin = await client.query<{ id: string }>(
      `SELECT id FROM users WHERE username = 'admin'`,
    );
    const adminId = admin.rows[0]?.id;
    assert.ok(adminId);
    // Newest first: the hibernated ones (g = 1 is the newest), then the stopped ones.
    const hibernated = await client.query<{ id: string }>(
      `INSERT INTO sessions (user_id, template_id, platform, state, home_key, vnc_password,
          created_at)
        SELECT $1, 'terminal', 'local', 'hibernated', 'h', 'p', now() - g * interval '1 second'
        FROM generate_series(1, $2::int) g
        RETURNING id, created_at`,
      [adminId, HIBERNATED],
    );
    hibernatedIds = hibernated.rows.map((row) => row.id);
    await client.query(
      `INSERT INTO sessions (user_id, template_id, platform, state, home_key, vnc_password,
          created_at)
        SELECT $1, 'terminal', 'local', 'stopped', 'h', 'p', now() - interval '1 hour' - g * interval '1 second'
        FROM generate_series(1, $2::int) g`,
      [adminId, STOPPED],
    );
    await client.query(
      `INSERT INTO agents (id, name, platform, capacity, status, secret_hash)
        SELECT gen_random_uuid(), 'list-agent-' || lpad(g::text, 3, '0'), 'docker',
          '{"maxSessions":4}', 'offline', 'x'
        FROM generate_series(1, $1::int) g`,
      [AGENTS],
    );
  } finally {
    await client.end();
  }
});

after(async () => {
  await browser?.close();
  await system?.stop();
  await database?.drop();
});

/** Waits until `rows` counts `count` (a page arrives as one render; no fixed sleep). */
async function waitForRows(rows: Locator, count: number, what: string): Promise<void> {
  await waitFor(`${what}: ${count} rows`, async () => (await rows.count()) === count, {
    timeoutMs: 20_000,
    intervalMs: 50,
  });
}

test('My sessions shows 100, "Show more" loads the rest, and live changes still arrive', async () => {
  const { page, errors, serverErrors } = await browser.newPage();
  await signIn(page, system, 'admin', system.adminPassword);
  await page.getByRole('link', { name: 'My sessions' }).click();
  await page.getByRole('heading', { name: 'My sessions' }).waitFor();
  await page.getByText('Live', { exact: true }).waitFor();
  const active = page.locator('tr[data-session-id]:visible');
  await waitForRows(active, 100, 'the first page');
  // The stopped ones are a separate list, loaded by a request of its own: wait for it, as a
  // count right after the active rows raced that request.
  await page.getByText(`Stopped sessions (${STOPPED})`).waitFor();
  const more = page.getByRole('button', { name: 'Show more' });
  await page.getByText('100 sessions shown').waitFor();
  await more.scrollIntoViewIfNeeded();
  await screenshot(page, 'my-sessions-show-more');

  // Keyboard: the button is reachable and Enter loads the next page.
  await more.focus();
  await page.keyboard.press('Enter');
  await waitForRows(active, HIBERNATED, 'after Show more');
  await more.waitFor({ state: 'detached' });
  // Focus moves to the line that says so rather than back to the top of the page.
  // A string: the tests' tsconfig has no DOM types.
  await page.waitForFunction(
    `document.activeElement?.textContent === ${JSON.stringify(`All ${HIBERNATED} sessions shown`)}`,
  );
  const listed = await active.evaluateAll((rows) =>
    rows.map((row) => row.getAttribute('data-session-id')),
  );
  assert.deepEqual(listed, hibernatedIds, 'newest first, each once, across both pages');

  // A session on the second page is stopped elsewhere: the server-sent event moves it from
  // the active list to the stopped one without a reload (the slow safety poll is 30 s).
  const token = await apiLogin(system.apiUrl, 'admin', system.adminPassword);
  const last = hibernatedIds.at(-1)!;
  await apiCall(system.apiUrl, token, 'POST', `/sessions/${last}/stop`);
  await waitForRows(active, HIBERNATED - 1, 'after the stop');
  await page.getByText(`Stopped sessions (${STOPPED + 1})`).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator(`tr[data-session-id="${last}"]:visible`).count(), 0);
  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});

test('Admin sessions filters by state and user on the server and pages the result', async () => {
  const { page, errors, serverErrors } = await browser.newPage();
  await signIn(page, system, 'admin', system.adminPassword);
  await page.goto(`${system.url}/admin/sessions`);
  await page.getByRole('heading', { name: 'All sessions' }).waitFor();
  const rows = page.locator('tr[data-session-id]');
  await waitForRows(rows, 100, 'not stopped, first page');
  await page.getByRole('button', { name: 'Show more' }).click();
  await waitForRows(rows, HIBERNATED - 1, 'not stopped, both pages');
  await page.getByLabel('State').selectOption('stopped');
  await waitForRows(rows, STOPPED + 1, 'stopped');
  assert.equal(await page.getByRole('button', { name: 'Show more' }).count(), 0);
  await page.getByLabel('State').selectOption('any');
  await waitForRows(rows, 100, 'any state, first page');
  // The user search asks the server for owners whose name contains the text.
  await page.getByLabel('User').fill('nobody');
  await page.getByText('No sessions match these filters.').waitFor();
  await page.getByLabel('User').fill('ADM');
  await waitForRows(rows, 100, "admin's sessions, first page");
  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});

test('Agents shows 100 by name, then the rest; the filters and the name search narrow the list', async () => {
  const { page, errors, serverErrors } = await browser.newPage();
  await signIn(page, system, 'admin', system.adminPassword);
  await page.goto(`${system.url}/admin/agents`);
  await page.getByRole('heading', { name: 'Agents' }).waitFor();
  const rows = page.locator('tr[data-agent-id]');
  await waitForRows(rows, 100, 'the first page');
  await page.getByRole('button', { name: 'Show more' }).click();
  await waitForRows(rows, AGENTS, 'both pages');
  const names = await rows.evaluateAll((all) =>
    all.map((row) => row.getAttribute('data-agent-name')),
  );
  assert.deepEqual(names, [...names].sort(), 'by name');
  await page.evaluate('window.scrollTo(0, 0)');
  await screenshot(page, 'agents-paged');
  await page.getByLabel('Status').selectOption('online');
  await page.getByText('No agents match these filters.').waitFor();
  await page.getByLabel('Status').selectOption('');
  await page.getByLabel('Platform').selectOption('local');
  await page.getByText('No agents match these filters.').waitFor();
  await page.getByLabel('Platform').selectOption('docker');
  await waitForRows(rows, 100, 'docker, first page');
  await page.getByLabel('Name').fill('AGENT-10');
  await waitForRows(rows, AGENTS - 99, 'names containing agent-10');
  assert.equal(await page.getByRole('button', { name: 'Show more' }).count(), 0);
  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});
