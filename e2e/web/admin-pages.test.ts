import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, type TestBrowser } from './launch-browser';
import { signIn } from './web-fixture';
import { apiCall } from '../support/api-call';
import { apiLogin, startWebSystem, type WebSystem } from './web-system';

let system: WebSystem;
let browser: TestBrowser;

before(async () => {
  system = await startWebSystem({ embeddedAgent: 'none' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

/** What the REST API says is saved, read with a fresh admin token. */
async function apiGet<T>(path: string): Promise<T> {
  const token = await apiLogin(system.apiUrl, 'admin', system.adminPassword);
  return (await apiCall(system.apiUrl, token, 'GET', path)) as T;
}

test('an admin creates, edits and disables a template; the catalog follows', async () => {
  const { page, errors, serverErrors } = await browser.newPage();
  await signIn(page, system, 'admin', system.adminPassword);
  await page.getByRole('link', { name: 'Templates' }).click();
  await page.getByRole('heading', { name: 'Templates' }).waitFor();

  await page.getByRole('button', { name: 'New template' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Id (lowercase, digits, -)').fill('Bad Id');
  await dialog.getByLabel('Name', { exact: true }).fill('Notes');
  await dialog.getByRole('button', { name: 'Create template' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'id' }).waitFor();

  await dialog.getByLabel('Id (lowercase, digits, -)').fill('e2e-notes');
  await dialog.getByLabel('Description').fill('A terminal for notes.');
  await dialog.getByLabel('Icon (an emoji)').fill('terminal');
  // An unclosed quote is refused in the form rather than guessed at.
  await dialog.getByLabel('App command').fill('xterm -title "My notes');
  await dialog.getByRole('button', { name: 'Create template' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'unclosed' }).waitFor();
  // Quotes group words and a backslash escapes one character, as in a shell.
  await dialog.getByLabel('App command').fill(`xterm -title "My notes" -e 'vim a\\ b.txt'`);
  await dialog.getByRole('button', { name: 'Create template' }).click();
  const row = page.locator('tr[data-template-id="e2e-notes"]');
  await row.waitFor();
  assert.match(await row.innerText(), /Notes/);

  const created = await apiGet<{ app: string[] }>('/templates/e2e-notes');
  assert.deepEqual(created.app, ['xterm', '-title', 'My notes', '-e', 'vim a\\ b.txt']);

  await row.getByRole('button', { name: 'Edit Notes' }).click();
  assert.equal(
    await dialog.getByLabel('App command').inputValue(),
    'xterm -title "My notes" -e "vim a\\\\ b.txt"',
    'the saved command is shown back with its quoting',
  );
  await dialog.getByLabel('Name', { exact: true }).fill('Team notes');
  await dialog.getByLabel('Memory (MiB)').fill('768');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await row.getByText('Team notes').waitFor();
  assert.match(await row.innerText(), /768 MB memory/);
  await screenshot(page, 'admin-templates');

  await page.getByRole('link', { name: 'Apps' }).click();
  await page.getByRole('heading', { name: 'Team notes' }).waitFor();

  await page.getByRole('link', { name: 'Templates' }).click();
  await row.getByRole('button', { name: 'Disable Team notes' }).click();
  await row.getByText('disabled').waitFor();
  await page.getByRole('link', { name: 'Apps' }).click();
  await page.locator('.template-card').first().waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Team notes' }).count(), 0);

  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});

test('an admin creates a user, changes the role and session limits, disables and resets the password', async () => {
  const { page, errors, serverErrors } = await browser.newPage();
  await signIn(page, system, 'admin', system.adminPassword);
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('button', { name: 'New user' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Username').fill('bob');
  await dialog.getByLabel('Password (at least 8 characters)').fill('short');
  await dialog.getByRole('button', { name: 'Create user' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'password' }).waitFor();
  await dialog.getByLabel('Password (at least 8 characters)').fill('bob-first-password');
  await dialog.getByRole('button', { name: 'Create user' }).click();
  const row = page.locator('tr[data-user="bob"]');
  await row.waitFor();

  const saved = page.waitForResponse(
    (response) => response.request().method() === 'PATCH' && response.ok(),
  );
  await row.getByLabel('Role of bob').selectOption('admin');
  await saved;
  await page.reload();
  assert.equal(await row.getByLabel('Role of bob').inputValue(), 'admin', 'the role was saved');
  await row.getByLabel('Role of bob').selectOption('user');

  // Session limits of bob's own: shown as "default" until set, then saved and shown.
  const limitsCell = row.locator('td[data-label="Session limits"]');
  assert.equal((await limitsCell.innerText()).trim(), 'idle default · max default');
  await row.getByRole('button', { name: 'Session limits of bob' }).click();
  await dialog.getByLabel('Idle timeout (minutes, blank = default)').fill('45');
  await dialog.getByLabel('Maximum session duration (minutes, blank = default)').fill('240');
  await dialog.getByRole('button', { name: 'Save limits' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await row.getByText('idle 45 min · max 240 min').waitFor();
  const bobLimits = async () => {
    const { items } = await apiGet<{ items: Record<string, unknown>[] }>('/users');
    const bob = items.find((user) => user.username === 'bob');
    return { idle: bob?.idleTimeoutMinutes, max: bob?.maxDurationMinutes };
  };
  assert.deepEqual(await bobLimits(), { idle: 45, max: 240 });
  await page.reload();
  assert.equal((await limitsCell.innerText()).trim(), 'idle 45 min · max 240 min');
  // Blank fields clear both back to the template's or global default.
  await row.getByRole('button', { name: 'Session limits of bob' }).click();
  assert.equal(
    await dialog.getByLabel('Idle timeout (minutes, blank = default)').inputValue(),
    '45',
  );
  await dialog.getByLabel('Idle timeout (minutes, blank = default)').fill('');
  await dialog.getByLabel('Maximum session duration (minutes, blank = default)').fill('');
  await dialog.getByRole('button', { name: 'Save limits' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await row.getByText('idle default · max default').waitFor();
  assert.deepEqual(await bobLimits(), { idle: null, max: null });
  await row.getByRole('button', { name: 'Disable bob' }).click();
  await row.getByText('disabled').waitFor();
  await screenshot(page, 'admin-users');

  // A disabled user cannot sign in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You signed out.').waitFor();
  await page.getByLabel('Username').fill('bob');
  await page.getByLabel('Password').fill('bob-first-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.equal(new URL(page.url()).pathname, '/sign-in');

  await signIn(page, system, 'admin', system.adminPassword);
  await page.getByRole('link', { name: 'Users' }).click();
  await row.getByRole('button', { name: 'Enable bob' }).click();
  await row.getByText('active').waitFor();
  await row.getByRole('button', { name: 'Reset password of bob' }).click();
  await dialog.getByLabel('New password (at least 8 characters)').fill('bob-second-password');
  await dialog.getByRole('button', { name: 'Set password' }).click();
  await dialog.waitFor({ state: 'hidden' });

  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, system, 'bob', 'bob-second-password');
  // A plain user sees no admin pages.
  assert.equal(await page.getByRole('link', { name: 'Agents' }).count(), 0);
  await page.goto(`${system.url}/admin/users`);
  await page.getByText('This page is for administrators.').waitFor();

  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
  await page.close();
});

test('pages fit a phone-width screen without sideways scrolling', async () => {
  const { page, errors } = await browser.newPage({ width: 390, height: 844 });
  await signIn(page, system, 'admin', system.adminPassword);
  await screenshot(page, 'catalog-phone');
  for (const path of ['/', '/sessions', '/admin/templates', '/admin/users', '/admin/agents']) {
    await page.goto(`${system.url}${path}`);
    await page.locator('h1').waitFor();
    await page.waitForLoadState('networkidle').catch(() => {});
    // A string: this runs in the page, and the tests' tsconfig has no DOM types.
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px at 390px`);
  }
  await page.goto(`${system.url}/admin/templates`);
  await page.locator('tr[data-template-id]').first().waitFor();
  await screenshot(page, 'admin-templates-phone');
  assert.deepEqual(errors, []);
  await page.close();
});
