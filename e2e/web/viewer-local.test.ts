import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { waitFor } from '@streamspace/test-kit';
import { screenshot } from './launch-browser';
import { signIn, startWebFixture, type WebFixture } from './web-fixture';
import {
  canvasStats,
  clickRemote,
  remoteToPage,
  waitForDesktop,
  xtermTextLines,
} from './viewer-helpers';
import { apiCall } from '../support/api-call';

let web: WebFixture;

before(async () => {
  web = await startWebFixture({ agent: { platform: 'local', name: 'local-e2e' } });
});

after(() => web?.stop());

/** Signs in afresh: the browser context's cookies are shared by every page. */
async function signInAs(page: Page, username: string, password: string): Promise<void> {
  await web.browser.context.clearCookies();
  await signIn(page, web.system, username, password);
}

let sessionId = '';

/** The viewer tab the first test opened, still showing the desktop. */
async function openViewerTab(): Promise<Page> {
  const viewer = web.browser.context.pages().find((p) => p.url().includes('/view'));
  assert.ok(viewer, 'the viewer tab is still open');
  await waitForDesktop(viewer);
  return viewer;
}

test('launch a terminal on the local agent and see and type into the remote desktop', async () => {
  const { page, errors, serverErrors } = await web.browser.newPage();
  await signInAs(page, 'admin', web.system.adminPassword);

  await page.getByRole('button', { name: 'Launch Terminal' }).click();
  const dialog = page.getByRole('dialog');
  // Only platforms with an online agent are offered, with their agent count.
  await dialog.getByText('Local machine').waitFor();
  assert.equal(await dialog.getByText('Docker', { exact: true }).count(), 0);
  assert.match(
    await dialog.locator('label', { hasText: 'Local machine' }).innerText(),
    /1 agent online/,
  );
  await dialog.getByLabel(/Local machine/).check();
  await screenshot(page, 'launch-dialog');
  await dialog.getByRole('button', { name: 'Launch' }).click();

  await page.waitForURL(/\/sessions\/[0-9a-f-]+\/view$/, { timeout: 60_000 });
  sessionId = /\/sessions\/([0-9a-f-]+)\/view/.exec(page.url())?.[1] ?? '';
  const first = await waitForDesktop(page, 60_000);
  assert.ok(
    first.width >= 640 && first.height >= 400,
    `a real framebuffer (${first.width}x${first.height})`,
  );
  assert.ok(first.detail > 0.01, 'the canvas shows a desktop, not a blank screen');

  // Type into the terminal: what the canvas shows must change.
  await clickRemote(page, 0.2, 0.25);
  const before = (await canvasStats(page))?.hash;
  await page.keyboard.type('echo streamspace-was-here', { delay: 20 });
  await page.keyboard.press('Enter');
  await waitFor(
    'typed text to change the remote screen',
    async () => {
      const now = await canvasStats(page);
      return now !== null && now.hash !== before;
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  await screenshot(page, 'viewer');

  assert.deepEqual(errors, []);
  assert.deepEqual(serverErrors, []);
});

test('hibernate from My sessions: the viewer says so; wake brings the desktop back', async () => {
  assert.ok(sessionId, 'needs the session from the previous test');
  const viewer = web.browser.context.pages().find((p) => p.url().includes('/view'));
  assert.ok(viewer, 'the viewer tab is still open');

  const { page: list, errors } = await web.browser.newPage();
  await list.goto(`${web.system.url}/sessions`);
  const row = list.locator(`tr[data-session-id="${sessionId}"]`);
  await row.getByText('running', { exact: true }).waitFor();
  assert.match(await row.innerText(), /local-e2e/, 'the row names the agent');
  assert.match(await row.innerText(), /Hibernates in/, 'the idle countdown is shown');
  await screenshot(list, 'my-sessions');
  await row.getByRole('button', { name: 'Hibernate Terminal session' }).click();
  // Live update: the row reaches hibernated without a reload.
  await row.getByText('hibernated', { exact: true }).waitFor({ timeout: 60_000 });

  await viewer
    .getByRole('heading', { name: 'This session is hibernated' })
    .waitFor({ timeout: 30_000 });
  await screenshot(viewer, 'viewer-hibernated');

  await viewer.getByRole('button', { name: 'Wake session' }).click();
  const woken = await waitForDesktop(viewer, 60_000);
  assert.ok(woken.detail > 0.01, 'the desktop is back after waking');
  await row.getByText('running', { exact: true }).waitFor({ timeout: 30_000 });
  assert.deepEqual(errors, []);
  await list.close();
});

test('the viewer rides out an agent restart: agent offline, then reconnects by itself', async () => {
  const viewer = await openViewerTab();

  await web.agent.pause();
  await viewer
    .getByRole('heading', { name: 'The agent running this session is offline' })
    .waitFor({ timeout: 30_000 });
  await screenshot(viewer, 'viewer-agent-offline');

  await web.agent.resume();
  // No click: the viewer retries with backoff, each time with a fresh ticket.
  const back = await waitForDesktop(viewer, 60_000);
  assert.ok(back.detail > 0.01, 'the same session draws again after the agent returns');
});

test('clipboard both ways: text sent from the panel is pasted remotely and comes back', async () => {
  const viewer = await openViewerTab();
  await clickRemote(viewer, 0.2, 0.25);
  await viewer.keyboard.type('clear', { delay: 20 });
  await viewer.keyboard.press('Enter');
  await waitFor('the terminal to clear', async () => (await xtermTextLines(viewer)).length === 1, {
    timeoutMs: 15_000,
    intervalMs: 200,
  });

  // Local → remote: Xvnc sets the desktop's selection; a middle click pastes it in xterm.
  await viewer.getByRole('button', { name: 'Clipboard' }).click();
  const text = viewer.getByLabel('Text shared with the desktop');
  await text.fill('echo pasted-$((6*7))');
  await viewer.getByRole('button', { name: 'Send to desktop' }).click();
  const [prompt] = await xtermTextLines(viewer);
  assert.ok(prompt, 'the prompt line is visible');
  const at = await remoteToPage(viewer, prompt.x + 200, prompt.y);
  const beforePaste = (await canvasStats(viewer))?.hash;
  await viewer.mouse.click(at.x, at.y, { button: 'middle' });
  // xterm fetches the selection asynchronously: wait for the text before pressing Enter.
  await waitFor(
    'the pasted text to appear',
    async () => (await canvasStats(viewer))?.hash !== beforePaste,
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  await viewer.keyboard.press('Enter');
  // The shell ran it: a prompt line, the output line, and a new prompt.
  const lines = await waitFor(
    'the pasted command to run',
    async () => {
      const found = await xtermTextLines(viewer);
      return found.length >= 3 ? found : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  ).catch(async (error: Error) => {
    await screenshot(viewer, 'failure-clipboard');
    throw error;
  });

  // Remote → local: selecting the output line in xterm sends it to the browser.
  await text.fill('');
  // The output line sits just above the new prompt.
  const outputLine = lines[lines.length - 2]!;
  const output = await remoteToPage(viewer, outputLine.x, outputLine.y);
  await viewer.mouse.click(output.x, output.y, { clickCount: 3 });
  await waitFor('the remote selection to reach the clipboard panel', async () =>
    (await text.inputValue()).trim() === 'pasted-42' ? true : undefined,
  );
  await screenshot(viewer, 'viewer-clipboard');
  await viewer.getByRole('button', { name: 'Close' }).click();
});

test('view only: keys typed while it is on never reach the desktop', async () => {
  const viewer = await openViewerTab();
  await clickRemote(viewer, 0.2, 0.25);
  await viewer.keyboard.type('clear', { delay: 20 });
  await viewer.keyboard.press('Enter');
  const promptRight = async () => {
    const lines = await xtermTextLines(viewer);
    return lines.length === 1 ? lines[0]!.right : undefined;
  };
  // One line whose end holds still across two reads: the prompt after `clear`, not the
  // line with `clear` still being typed or drawn.
  let previous: number | undefined;
  const width0 = await waitFor(
    'a cleared terminal',
    async () => {
      const right = await promptRight();
      const settled = right !== undefined && right === previous;
      previous = right;
      return settled ? right : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );

  const viewOnly = viewer.getByRole('button', { name: 'View only' });
  await viewOnly.click();
  assert.equal(await viewOnly.getAttribute('aria-pressed'), 'true');
  await clickRemote(viewer, 0.2, 0.25);
  await viewer.keyboard.type('zzzz', { delay: 20 });
  await viewOnly.click();
  assert.equal(await viewOnly.getAttribute('aria-pressed'), 'false');
  await clickRemote(viewer, 0.2, 0.25);

  // Keys travel in order on one connection: once 'y' shows, 'zzzz' would have shown first.
  // One character must move the line end by exactly as much as the next one does.
  await viewer.keyboard.type('y');
  const width1 = await waitFor('"y" to appear', async () => {
    const right = await promptRight();
    return right !== undefined && right > width0 ? right : undefined;
  });
  await viewer.keyboard.type('y');
  const width2 = await waitFor('the second "y" to appear', async () => {
    const right = await promptRight();
    return right !== undefined && right > width1 ? right : undefined;
  });
  assert.ok(
    width1 - width0 <= width2 - width1 + 1,
    `only one character arrived (moved ${width1 - width0}px; one character is ${width2 - width1}px)`,
  );
  await viewer.keyboard.press('Control+U');
});

test('remote resize makes the desktop the size of the browser window', async () => {
  const viewer = await openViewerTab();
  const before = await canvasStats(viewer);
  assert.deepEqual([before?.width, before?.height], [1280, 800]);
  await viewer.getByRole('button', { name: 'Remote resize' }).click();
  const area = await viewer.getByTestId('viewer-screen').boundingBox();
  assert.ok(area);
  await waitFor(
    'the remote desktop to take the viewer size',
    async () => {
      const now = await canvasStats(viewer);
      return (
        now !== null &&
        Math.abs(now.width - Math.floor(area.width)) <= 2 &&
        Math.abs(now.height - Math.floor(area.height)) <= 2
      );
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  await viewer.getByRole('button', { name: 'Remote resize' }).click();

  // The desktop takes every key (Tab too); Ctrl+Alt+Shift hands the keyboard back.
  await clickRemote(viewer, 0.5, 0.5);
  await viewer.keyboard.down('Control');
  await viewer.keyboard.down('Alt');
  await viewer.keyboard.press('Shift');
  await viewer.keyboard.up('Alt');
  await viewer.keyboard.up('Control');
  assert.equal(
    await viewer.evaluate<string | null>('document.activeElement.getAttribute("aria-label")'),
    'Back to my sessions',
    'focus moved to the toolbar',
  );
  assert.equal(
    await viewer.getByRole('button', { name: 'Remote resize' }).getAttribute('aria-pressed'),
    'false',
  );
});

test('toolbar: fullscreen on and off, disconnect, then reconnect', async () => {
  const viewer = await openViewerTab();
  const fullscreen = viewer.getByRole('button', { name: 'Fullscreen' });
  await fullscreen.click();
  await waitFor(
    'fullscreen',
    async () => (await fullscreen.getAttribute('aria-pressed')) === 'true',
  );
  assert.equal(
    await viewer.evaluate<string | null>('document.fullscreenElement?.className ?? null'),
    'viewer',
  );
  await fullscreen.click();
  await waitFor(
    'windowed',
    async () => (await fullscreen.getAttribute('aria-pressed')) === 'false',
  );

  await viewer.getByRole('button', { name: 'Disconnect' }).click();
  await viewer.getByRole('heading', { name: 'Disconnected' }).waitFor();
  await viewer.getByRole('button', { name: 'Reconnect now' }).click();
  const again = await waitForDesktop(viewer);
  assert.ok(again.detail > 0.01, 'the desktop is back after reconnecting');
});

test('the session detail shows the timeline with actors and reasons', async () => {
  const { page, errors } = await web.browser.newPage();
  await page.goto(`${web.system.url}/sessions/${sessionId}`);
  await page.getByRole('heading', { name: 'Timeline' }).waitFor();
  const timeline = page.locator('.timeline');
  await timeline.getByText('running → hibernating').waitFor();
  await timeline.getByText('hibernated → waking').waitFor();
  assert.match(await timeline.innerText(), /by user:admin|by admin:admin/);
  await screenshot(page, 'session-detail');

  // Admins see every user's sessions, with the owner, on All sessions.
  await page.getByRole('link', { name: 'All sessions' }).click();
  const row = page.locator(`tr[data-session-id="${sessionId}"]`);
  await row.getByText('running', { exact: true }).waitFor();
  assert.match(await row.innerText(), /admin/);
  await screenshot(page, 'admin-sessions');

  // The same list as cards on a phone, without sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: 'My sessions' }).click();
  await page.locator(`tr[data-session-id="${sessionId}"]`).waitFor();
  const overflow = await page.evaluate<number>(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth',
  );
  assert.ok(overflow <= 0, `My sessions scrolls sideways by ${overflow}px at 390px`);
  await screenshot(page, 'my-sessions-phone');
  assert.deepEqual(errors, []);
  await page.close();
});

test("another user's session shows 'Session not found or not yours'", async () => {
  await apiCall(web.system.apiUrl, web.adminToken, 'POST', '/users', {
    username: 'eve',
    password: 'eve-password-1',
    role: 'user',
  });
  const { page, errors } = await web.browser.newPage();
  await signInAs(page, 'eve', 'eve-password-1');
  await page.goto(`${web.system.url}/sessions/${sessionId}/view`);
  await page.getByRole('heading', { name: 'Session not found or not yours' }).waitFor();
  await page.goto(`${web.system.url}/sessions/${sessionId}`);
  await page.getByRole('heading', { name: 'Session not found or not yours' }).waitFor();
  await screenshot(page, 'not-yours');
  assert.deepEqual(errors, []);
  await page.close();
});
