import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { waitFor } from '@streamspace/test-kit';

/** One change in what the page shows about a session coming up (recorded in the page). */
export interface ProgressEntry {
  /** ms since the recorder was installed (the page's performance clock). */
  at: number;
  /** The launch dialog's progress: its data-state and current step, when shown. */
  launch: { state: string; step: string | null; reason: string } | null;
  /** The viewer overlay: its data-status and heading; `connected` once it is gone. */
  viewer: { status: string; title: string } | null;
  /** Texts of every role="alert" element: an error the user would see. */
  alerts: string[];
}

/**
 * Records, from a MutationObserver in the page, every distinct state of the launch progress,
 * the viewer overlay and any alert, with its time: what the user saw between pressing Launch
 * (or Wake) and the desktop, including states that lasted a single frame. Install before
 * `page.goto` (an init script, so it survives client-side navigation and reloads alike).
 */
export async function installProgressRecorder(page: Page): Promise<void> {
  await page.addInitScript({ content: RECORDER_SCRIPT });
}

/** The entries recorded so far; `clear` starts a new recording (for the next launch or wake). */
export async function progressLog(page: Page, { clear = false } = {}): Promise<ProgressEntry[]> {
  return page.evaluate<ProgressEntry[]>(
    `(() => { const log = window.__streamspaceProgress ?? []; if (${clear}) window.__streamspaceProgress = []; return log; })()`,
  );
}

/** One word per entry, consecutive repeats dropped: `launch:starting`, `viewer:Connecting…`. */
export function progressPhases(log: ProgressEntry[]): string[] {
  const phases: string[] = [];
  for (const entry of log) {
    const phase = entry.launch
      ? `launch:${entry.launch.state}`
      : entry.viewer
        ? entry.viewer.status === 'connected'
          ? 'viewer:connected'
          : `viewer:${entry.viewer.title}`
        : null;
    if (phase !== null && phases.at(-1) !== phase) phases.push(phase);
  }
  return phases;
}

/** How long each phase lasted, for the test's diagnostics: `launch:starting 812 ms`. */
export function describeProgress(log: ProgressEntry[]): string {
  const starts: { phase: string; at: number }[] = [];
  for (const entry of log) {
    const [phase] = progressPhases([entry]);
    if (phase !== undefined && phase !== starts.at(-1)?.phase) starts.push({ phase, at: entry.at });
  }
  return starts
    .map(({ phase, at }, index) => {
      const next = starts[index + 1];
      return next ? `${phase} ${Math.round(next.at - at)} ms` : `${phase} (last)`;
    })
    .join(', ');
}

/** Every alert text seen during the recording (an error flash, however brief). */
export function alertsSeen(log: ProgressEntry[]): string[] {
  return [...new Set(log.flatMap((entry) => entry.alerts))];
}

/** Waits until `phase` has been shown, however briefly (no polling can miss it). */
export async function waitForPhase(page: Page, phase: string, timeoutMs = 60_000): Promise<void> {
  let seen: string[] = [];
  await waitFor(
    `the page to show ${phase}`,
    async () => {
      seen = progressPhases(await progressLog(page));
      return seen.includes(phase);
    },
    { timeoutMs, intervalMs: 50 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; shown so far: ${seen.join(' → ')}`);
  });
}

/**
 * Asserts the recording went forward through `order` (each shown phase is in it, none after
 * a later one), that every `required` phase was shown, and that no alert ever appeared.
 */
export function assertProgressInOrder(
  log: ProgressEntry[],
  order: readonly string[],
  required: readonly string[] = order,
): void {
  const phases = progressPhases(log);
  const shown = `shown: ${phases.join(' → ')} (${describeProgress(log)})`;
  let position = 0;
  for (const phase of phases) {
    const at = order.indexOf(phase, position);
    assert.ok(at >= 0, `"${phase}" is unexpected or out of order; ${shown}`);
    position = at;
  }
  for (const phase of required)
    assert.ok(phases.includes(phase), `"${phase}" was never shown; ${shown}`);
  assert.deepEqual(alertsSeen(log), [], `no error may flash by; ${shown}`);
}

// Runs in the page before its scripts; a string because the tests' tsconfig has no DOM types.
const RECORDER_SCRIPT = `(() => {
  window.__streamspaceProgress = [];
  let last = '';
  const text = (element) => (element ? element.textContent.replace(/\\s+/g, ' ').trim() : '');
  const snapshot = () => {
    const progress = document.querySelector('[data-testid="launch-progress"]');
    const overlay = document.querySelector('.viewer-overlay');
    const screen = document.querySelector('[data-testid="viewer-screen"]');
    const alerts = [...document.querySelectorAll('[role="alert"]')]
      .map(text)
      .filter((value) => value !== '');
    return {
      launch: progress
        ? {
            state: progress.getAttribute('data-state') ?? '',
            step: progress.querySelector('[aria-current="step"]')?.getAttribute('data-step') ?? null,
            reason: text(progress.querySelector('[role="status"]')),
          }
        : null,
      viewer: overlay
        ? { status: overlay.getAttribute('data-status') ?? '', title: text(overlay.querySelector('h2')) }
        : screen
          ? { status: 'connected', title: '' }
          : null,
      alerts,
    };
  };
  const record = () => {
    const now = snapshot();
    const key = JSON.stringify(now);
    if (key === last) return;
    last = key;
    window.__streamspaceProgress.push({ at: performance.now(), ...now });
  };
  new MutationObserver(record).observe(document, {
    childList: true,
    subtree: true,
    attributes: true,
    characterData: true,
  });
})()`;
