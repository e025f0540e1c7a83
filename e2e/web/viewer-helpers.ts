import type { Page } from 'playwright-core';
import { waitFor } from '../../packages/test-kit/src/wait-for';
import { screenshot } from './launch-browser';

export interface CanvasStats {
  width: number;
  height: number;
  /** Distinct colours, counted up to 1000: 1 means a blank (uniform) screen. */
  colors: number;
  /** Share of pixels (0–1) that differ from the most common colour. */
  detail: number;
  hash: number;
}

/** Reads the noVNC canvas's pixels in the page: what the user actually sees. */
export async function canvasStats(page: Page): Promise<CanvasStats | null> {
  return page.evaluate<CanvasStats | null>(CANVAS_STATS_SCRIPT);
}

// Runs in the page; a string because the tests' tsconfig has no DOM types.
const CANVAS_STATS_SCRIPT = `(() => {
  const canvas = document.querySelector('[data-testid="viewer-screen"] canvas');
  if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
  const context = canvas.getContext('2d');
  if (!context) return null;
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const counts = new Map();
  let hash = 0;
  for (let i = 0; i < data.length; i += 4) {
    const colour = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    const seen = counts.get(colour);
    if (seen !== undefined) counts.set(colour, seen + 1);
    else if (counts.size < 1000) counts.set(colour, 1);
    hash = (Math.imul(hash, 31) + colour) | 0;
  }
  const pixels = data.length / 4;
  const dominant = Math.max(...counts.values());
  return {
    width: canvas.width,
    height: canvas.height,
    colors: counts.size,
    detail: (pixels - dominant) / pixels,
    hash,
  };
})()`;

/** Waits until the viewer shows a real desktop: connected and not a uniform screen. */
export async function waitForDesktop(page: Page, timeoutMs = 30_000): Promise<CanvasStats> {
  await page
    .locator('[data-testid="viewer-status"]')
    .filter({ hasText: 'Connected' })
    .waitFor({ timeout: timeoutMs });
  let last: CanvasStats | null = null;
  return waitFor(
    'the remote desktop to draw (non-uniform canvas pixels)',
    async () => {
      const stats = await canvasStats(page);
      last = stats;
      // An xterm on twm is two colours; a blank or not-yet-drawn screen is one.
      return stats !== null && stats.colors >= 2 && stats.detail > 0.01 ? stats : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  ).catch(async (error: Error) => {
    await screenshot(page, 'failure-desktop');
    throw new Error(`${error.message}; last canvas: ${JSON.stringify(last)}`);
  });
}

/** Clicks a point of the remote screen given as fractions of its width and height. */
export async function clickRemote(page: Page, fx: number, fy: number): Promise<void> {
  const box = await page.locator('[data-testid="viewer-screen"] canvas').boundingBox();
  if (!box) throw new Error('no viewer canvas');
  await page.mouse.click(box.x + box.width * fx, box.y + box.height * fy);
}
