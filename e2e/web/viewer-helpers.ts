import type { Page } from 'playwright-core';
import { waitFor } from '@streamspace/test-kit';
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
    .waitFor({ timeout: timeoutMs })
    .catch(async (error: Error) => {
      // Say what the viewer showed instead (its status line and overlay), for the CI log.
      await screenshot(page, 'failure-viewer-connect');
      const shown = async (selector: string) =>
        (await page.locator(selector).allInnerTexts()).join(' | ').replace(/\s+/g, ' ');
      throw new Error(
        `${error.message}; status: ${await shown('[data-testid="viewer-status"]')}; ` +
          `overlay: ${await shown('.viewer-overlay')}`,
      );
    });
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

export interface TextLine {
  /** Remote-screen pixel coordinates of a point inside the line's first characters. */
  x: number;
  y: number;
  /** The rightmost dark pixel of the line (its last character or the cursor block). */
  right: number;
}

/**
 * The text lines of the white xterm window, found from the canvas pixels: the window is the
 * bounding box of near-white pixels, its client area starts below the title bar's bottom
 * border (a row that is dark across the window), and each run of rows holding dark pixels
 * below that is one line of text.
 */
export async function xtermTextLines(page: Page): Promise<TextLine[]> {
  return page.evaluate<TextLine[]>(XTERM_LINES_SCRIPT);
}

const XTERM_LINES_SCRIPT = `(() => {
  const canvas = document.querySelector('[data-testid="viewer-screen"] canvas');
  if (!canvas) return [];
  const { width, height } = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const at = (x, y) => (y * width + x) * 4;
  const light = (x, y) => data[at(x, y)] > 240 && data[at(x, y) + 1] > 240 && data[at(x, y) + 2] > 240;
  const dark = (x, y) => data[at(x, y)] < 100 && data[at(x, y) + 1] < 100 && data[at(x, y) + 2] < 100;
  let left = width, top = height, right = -1, bottom = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (light(x, y)) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
      }
    }
  }
  if (right < 0) return [];
  const inner = [left + 3, right - 3];
  const darkShare = (y) => {
    let n = 0;
    for (let x = inner[0]; x <= inner[1]; x += 1) if (dark(x, y)) n += 1;
    return n / (inner[1] - inner[0] + 1);
  };
  let clientTop = top;
  for (let y = top; y < Math.min(bottom, top + 60); y += 1) if (darkShare(y) > 0.9) clientTop = y + 1;
  const lines = [];
  let start = -1;
  for (let y = clientTop; y <= bottom - 3; y += 1) {
    const hasText = darkShare(y) > 0;
    if (hasText && start < 0) start = y;
    if (!hasText && start >= 0) {
      let firstX = inner[0];
      outer: for (let x = inner[0]; x <= inner[1]; x += 1) {
        for (let yy = start; yy < y; yy += 1) if (dark(x, yy)) { firstX = x; break outer; }
      }
      let lastX = firstX;
      for (let x = inner[0]; x <= inner[1]; x += 1) {
        for (let yy = start; yy < y; yy += 1) if (dark(x, yy)) lastX = x;
      }
      lines.push({ x: firstX + 8, y: Math.round((start + y - 1) / 2), right: lastX });
      start = -1;
    }
  }
  return lines;
})()`;

/** Converts remote-screen pixels to page coordinates through the (possibly scaled) canvas. */
export async function remoteToPage(page: Page, x: number, y: number) {
  const canvas = page.locator('[data-testid="viewer-screen"] canvas');
  const box = await canvas.boundingBox();
  const size = await page.evaluate<{ width: number; height: number }>(
    `(() => { const c = document.querySelector('[data-testid="viewer-screen"] canvas'); return { width: c.width, height: c.height }; })()`,
  );
  if (!box) throw new Error('no viewer canvas');
  return { x: box.x + (x * box.width) / size.width, y: box.y + (y * box.height) / size.height };
}
