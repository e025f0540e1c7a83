// The command dispatch phase of bench/control-plane-scale.ts: sessions created through the
// REST API while the agents heartbeat, timed from the request to the agent's receipt of
// start_session (across processes, by wall clock) and, from the control plane's own
// timestamps in agent_commands, enqueue → sent → ack → result → running.
import type pg from 'pg';
import {
  percentiles,
  sleep,
  wallClockMs,
  type ApiCall,
  type Percentiles,
  type ReceivedCommand,
} from './scale-support';

export interface DispatchResult {
  inFlight: number;
  posted: number;
  received: number;
  perSecond: number;
  restToAgent: Percentiles;
  restResponse: Percentiles;
  enqueueToSent: Percentiles;
  enqueueToAcked: Percentiles;
  enqueueToResult: Percentiles;
  enqueueToRunning: Percentiles;
}

interface CommandTiming {
  created: Date;
  sent: Date | null;
  acked: Date | null;
  finished: Date | null;
  running: Date | null;
}

/** Bounds of one phase: creation stops after this, and each wait after it. */
const CREATE_FOR_MS = 120_000;
const WAIT_MS = 30_000;

export async function measureDispatch(deps: {
  api: ApiCall;
  db: pg.Client;
  templateId: string;
  count: number;
  inFlight: number;
  /** Commands the load generators received since the previous call. */
  receivedSince: () => Promise<ReceivedCommand[]>;
}): Promise<DispatchResult> {
  const { api, db, count, inFlight } = deps;
  await deps.receivedSince(); // forget commands seen before this phase
  const posted = new Map<string, { t0: number; t1: number }>();
  const received: ReceivedCommand[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count && performance.now() < started + CREATE_FOR_MS) {
      next += 1;
      const t0 = wallClockMs();
      const session = await api('POST', '/api/v1/sessions', {
        templateId: deps.templateId,
        platform: 'local',
      });
      posted.set(session.id, { t0, t1: wallClockMs() });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - started) / 1000;
  const until = performance.now() + WAIT_MS;
  while (performance.now() < until) {
    received.push(...(await deps.receivedSince()));
    if (received.filter((c) => posted.has(c.sessionId)).length >= posted.size) break;
    await sleep(100);
  }
  // Results are recorded asynchronously: wait (bounded) until every command finished.
  let timing: CommandTiming[] = [];
  const finishedBy = performance.now() + WAIT_MS;
  while (performance.now() < finishedBy) {
    timing = (
      await db.query<CommandTiming>(
        `SELECT c.created_at AS created, c.sent_at AS sent, c.acked_at AS acked,
                c.finished_at AS finished,
                (SELECT min(e.at) FROM session_events e
                  WHERE e.session_id = c.session_id AND e.to_state = 'running') AS running
         FROM agent_commands c WHERE c.session_id = ANY($1::uuid[]) AND c.type = 'start_session'`,
        [[...posted.keys()]],
      )
    ).rows;
    if (timing.every((row) => row.finished !== null && row.running !== null)) break;
    await sleep(200);
  }
  const ms = (a: Date | null, b: Date | null) =>
    a === null || b === null ? NaN : b.getTime() - a.getTime();
  const starts = received.filter((c) => c.type === 'start_session' && posted.has(c.sessionId));
  return {
    inFlight,
    posted: posted.size,
    received: starts.length,
    perSecond: posted.size / seconds,
    restToAgent: percentiles(starts.map((c) => c.at - posted.get(c.sessionId)!.t0)),
    restResponse: percentiles([...posted.values()].map((p) => p.t1 - p.t0)),
    enqueueToSent: percentiles(timing.map((r) => ms(r.created, r.sent))),
    enqueueToAcked: percentiles(timing.map((r) => ms(r.created, r.acked))),
    enqueueToResult: percentiles(timing.map((r) => ms(r.created, r.finished))),
    enqueueToRunning: percentiles(timing.map((r) => ms(r.created, r.running))),
  };
}
