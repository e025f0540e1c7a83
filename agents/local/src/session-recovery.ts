import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '@streamspace/protocol';
import { isAlive } from './process-control';
import type { SessionRecord, SessionStateStore } from './session-state-store';

export interface RecoveryDeps {
  clock: Clock;
  /** Kill whatever of the record still runs and clear its processes. */
  teardown: (record: SessionRecord) => Promise<void>;
  homeDir: (homeKey: string) => string;
  logger: Logger;
}

/**
 * Read the state an earlier agent process left and make it true again: running sessions
 * whose processes all live are adopted; the rest become failed with the reason; transitions
 * the agent died in are finished (hibernating → hibernated, stopping → gone).
 */
export async function recoverSessions(
  store: SessionStateStore,
  deps: RecoveryDeps,
): Promise<SessionRecord[]> {
  const { records, unreadable } = await store.loadAll();
  if (unreadable.length > 0) {
    deps.logger.warn({ files: unreadable }, 'unreadable session state files ignored');
  }
  const kept: SessionRecord[] = [];
  for (const record of records) {
    const before = record.status;
    const dead = record.processes.find((process) => !isAlive(process));
    if (record.status === 'running' && dead === undefined && record.processes.length > 0) {
      kept.push(record);
      deps.logger.info({ sessionId: record.sessionId }, 'session adopted after restart');
      continue;
    }
    await deps.teardown(record);
    if (record.status === 'stopping') {
      await store.remove(record.sessionId);
      if (record.deleteHome === true) {
        await rm(deps.homeDir(record.spec.homeKey), { recursive: true, force: true });
      }
      deps.logger.info({ sessionId: record.sessionId }, 'interrupted stop finished');
      continue;
    }
    if (record.status === 'running') {
      record.status = 'failed';
      record.reason =
        dead === undefined
          ? 'the session had no processes when the agent restarted'
          : `${dead.name} (pid ${dead.pid}) exited while the agent was not running`;
    } else if (record.status === 'starting') {
      record.status = 'failed';
      record.reason = 'the agent restarted while the session was starting';
    } else if (record.status === 'hibernating') {
      record.status = 'hibernated';
    }
    if (record.status !== before) {
      record.updatedAt = deps.clock.now();
      await store.save(record);
      deps.logger.warn({ sessionId: record.sessionId, status: record.status }, 'session recovered');
    }
    kept.push(record);
  }
  return kept;
}
