// Shared pieces of bench/control-plane-scale.ts and its load generator (bench/scale-agents.ts).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { processTree } from './proc-stats';

/** One agent's identity and the sessions it reports as running in its hello. */
export interface ScaleAgent {
  id: string;
  secret: string;
  running: string[];
}

/** A command as the load generator saw it arrive, with a wall-clock time (ms, sub-ms precision). */
export interface ReceivedCommand {
  commandId: string;
  type: string;
  sessionId: string;
  at: number;
}

export interface ScaleAgentStats {
  welcomed: number;
  closed: number;
  errors: number;
  heartbeatsSent: number;
  commandsReceived: number;
  /** WebSocket close code and reason → links the control plane closed with them. */
  closeCodes: Record<string, number>;
  commands: ReceivedCommand[];
}

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of samples (ms). */
export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return {
    n: sorted.length,
    p50: at(0.5) ?? NaN,
    p95: at(0.95) ?? NaN,
    p99: at(0.99) ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

export type ApiCall = <T = any>(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
) => Promise<T>;

/** A JSON client for the control plane's REST API (keep-alive, as a browser would). */
export function apiClient(base: string, defaultToken?: string): ApiCall {
  return async (method, path, body, token = defaultToken) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return (text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text) as never;
  };
}

/**
 * Latency of `count` sequential calls (after `warmup` unmeasured ones), bounded by
 * `maxMs`: whatever finished by then is reported. Also the mean response size.
 */
export async function timeCalls(
  call: () => Promise<unknown>,
  { count, warmup = 5, maxMs = 30_000 }: { count: number; warmup?: number; maxMs?: number },
): Promise<Percentiles & { bytes: number }> {
  for (let i = 0; i < warmup; i++) await call();
  const samples: number[] = [];
  let bytes = 0;
  const deadline = performance.now() + maxMs;
  while (samples.length < count && performance.now() < deadline) {
    const started = performance.now();
    const result = await call();
    samples.push(performance.now() - started);
    bytes += typeof result === 'string' ? result.length : JSON.stringify(result).length;
  }
  return { ...percentiles(samples), bytes: samples.length === 0 ? 0 : bytes / samples.length };
}

/** The PostgreSQL server processes this process started (postmaster children named postgres). */
export function postgresPids(parentPid: number): number[] {
  return processTree(parentPid).filter((pid) => {
    if (pid === parentPid) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === parentPid && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false;
    }
  });
}

/** Sum of the Prometheus samples of `name` carrying every one of `labels` (e.g. `type="x"`). */
export function metricValue(text: string, name: string, labels: string[] = []): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels.every((label) => line.includes(label))) sum += Number(line.split(' ').pop());
  }
  return sum;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
