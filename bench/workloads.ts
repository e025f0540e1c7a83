import type { Conn } from './clients';

const MiB = 1024 * 1024;

/** Resolves when `predicate` holds after a chunk arrives; rejects after `ms`. */
function until(
  conn: Conn,
  ms: number,
  what: string,
  predicate: (chunk: Buffer) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`timed out after ${ms} ms: ${what}`));
    }, ms);
    conn.onData((chunk) => {
      if (done || !predicate(chunk)) return;
      done = true;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Server→client bulk transfer of `bytes`; returns MiB/s. */
export async function bulk(conn: Conn, bytes: number, timeoutMs = 60_000): Promise<number> {
  let received = 0;
  const start = process.hrtime.bigint();
  const finished = until(
    conn,
    timeoutMs,
    `bulk ${bytes} bytes`,
    (chunk) => (received += chunk.length) >= bytes,
  );
  conn.send(Buffer.from(`B ${bytes}\n`));
  await finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return bytes / MiB / seconds;
}

/** Warm 64-byte echo round trips; returns p50 and p99 in µs. */
export async function echo(
  conn: Conn,
  warmup = 500,
  count = 3000,
): Promise<{ p50: number; p99: number }> {
  let pending: (() => void) | undefined;
  let got = 0;
  conn.onData((chunk) => {
    got += chunk.length;
    if (got >= 64 && pending) {
      got -= 64;
      const resolve = pending;
      pending = undefined;
      resolve();
    }
  });
  conn.send(Buffer.from('E\n'));
  const payload = Buffer.alloc(64, 0x61);
  const samples: number[] = [];
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < warmup + count && Date.now() < deadline; i++) {
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      pending = resolve;
      conn.send(payload);
    });
    if (i >= warmup) samples.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

export interface FanOutResult {
  /** Slowest stream's rate ÷ fastest stream's rate. */
  fairness: number;
  /** Longest gap between two arrivals on any stream before it finished, ms. */
  maxStallMs: number;
  /** Aggregate MiB/s. */
  totalRate: number;
}

/** `conns.length` concurrent bulk transfers of `bytesEach`. */
export async function fanOut(
  conns: Conn[],
  bytesEach: number,
  timeoutMs = 120_000,
): Promise<FanOutResult> {
  const start = performance.now();
  const finishes: number[] = [];
  let maxStallMs = 0;
  await Promise.all(
    conns.map((conn) => {
      let received = 0;
      let last = start;
      const done = until(conn, timeoutMs, 'fan-out stream', (chunk) => {
        const now = performance.now();
        if (received > 0) maxStallMs = Math.max(maxStallMs, now - last);
        last = now;
        received += chunk.length;
        if (received < bytesEach) return false;
        finishes.push(now - start);
        return true;
      });
      conn.send(Buffer.from(`B ${bytesEach}\n`));
      return done;
    }),
  );
  const rates = finishes.map((ms) => bytesEach / MiB / (ms / 1000));
  const elapsed = Math.max(...finishes) / 1000;
  return {
    fairness: Math.min(...rates) / Math.max(...rates),
    maxStallMs,
    totalRate: (bytesEach * conns.length) / MiB / elapsed,
  };
}

/** Read at most `bytesPerSecond` from conn (pausing it), forever; returns bytes read so far. */
export function throttledReader(conn: Conn, bytesPerSecond: number): () => number {
  let received = 0;
  const start = performance.now();
  let paused = false;
  conn.onData((chunk) => {
    received += chunk.length;
    const aheadMs = (received / bytesPerSecond) * 1000 - (performance.now() - start);
    if (aheadMs > 0 && !paused) {
      paused = true;
      conn.pause();
      setTimeout(() => {
        paused = false;
        conn.resume();
      }, aheadMs);
    }
  });
  return () => received;
}
