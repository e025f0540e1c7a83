import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshot, type TestBrowser } from './launch-browser';
import { startWebSystem, type WebSystem } from './web-system';

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

test('a wrong password says so and keeps the user on the sign-in page', async () => {
  const { page, errors } = await browser.newPage();
  await page.goto(`${system.url}/`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  await screenshot(page, 'sign-in-wrong-password');
  assert.deepEqual(errors, []);
  await page.close();
});

test('signing in shows the catalog; an expired cookie returns to sign-in with a message', async () => {
  const { page, errors } = await browser.newPage();
  await page.goto(`${system.url}/sessions`);
  // Not signed in: the app asks to sign in, then returns to the page that was asked for.
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(system.adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'My sessions' }).waitFor();

  await page.getByRole('link', { name: 'Apps' }).click();
  await page.getByRole('heading', { name: 'Apps' }).waitFor();
  const cards = page.locator('.template-card');
  await cards.first().waitFor();
  assert.ok((await cards.count()) >= 1, 'the seeded templates are shown as cards');
  const firstCard = await cards.first().innerText();
  assert.match(firstCard, /CPU/, 'a card shows its resources');
  await screenshot(page, 'catalog');

  await browser.context.clearCookies();
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByText('Your session expired, sign in again').waitFor();
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  await screenshot(page, 'sign-in-expired');
  assert.deepEqual(errors, []);
  await page.close();
});

test('keyboard only: sign in, reach Launch with a visible focus ring, Escape closes the dialog', async () => {
  await browser.context.clearCookies();
  const { page, errors } = await browser.newPage();
  await page.goto(`${system.url}/sign-in`);
  // The username field has focus on arrival (once the app has rendered; typing before that
  // would go nowhere, as it would for a user).
  await page.getByLabel('Username').waitFor();
  await page.waitForFunction(`document.activeElement?.id === 'username'`);
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type(system.adminPassword);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Apps' }).waitFor();

  const focused = () =>
    page.evaluate<{ label: string; outline: string }>(
      `(() => {
        const el = document.activeElement;
        return {
          label: (el && (el.getAttribute('aria-label') || el.textContent || '')).trim(),
          outline: el ? getComputedStyle(el).outlineStyle : 'none',
        };
      })()`,
    );
  let reached = false;
  for (let presses = 0; presses < 30 && !reached; presses += 1) {
    await page.keyboard.press('Tab');
    reached = (await focused()).label.startsWith('Launch ');
  }
  assert.ok(reached, 'a Launch button is reachable with Tab');
  const launch = await focused();
  assert.notEqual(launch.outline, 'none', 'the focused control shows a focus ring');
  await screenshot(page, 'keyboard-focus');

  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
  assert.equal((await focused()).label, launch.label, 'focus returns to the Launch button');
  assert.deepEqual(errors, []);
  await page.close();
});
