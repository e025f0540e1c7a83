import type { Logger } from 'pino';
import type {
  Clock,
  CommandMessage,
  CommandOutcome,
  CommandPayload,
  SessionObservation,
} from '@streamspace/protocol';
import { isDriverError, type SessionDriver } from '@streamspace/session-driver';
import type { OutcomeRecord, OutcomeStore } from './outcome-store';

/** Outcomes are forgotten this long after their command's deadline, in ms. */
const FORGET_AFTER_DEADLINE_MS = 60 * 60_000;
/** Rewrite the outcome file after this many appends, to drop superseded lines. */
const COMPACT_EVERY = 1_000;

type Entry =
  | { state: 'running'; deadline: number; done: Promise<CommandOutcome> }
  | { state: 'done'; deadline: number; outcome: CommandOutcome }
  /** Started before the agent restarted; whether it was applied is unknown, so it runs again. */
  | { state: 'interrupted'; deadline: number };

export interface CommandExecutorDeps {
  driver: SessionDriver;
  clock: Clock;
  logger: Logger;
  store: OutcomeStore;
  /** Told about every outcome (e.g. to keep the running-session count). */
  onApplied?: (payload: CommandPayload, outcome: CommandOutcome) => void;
}

export type CommandExecutor = Awaited<ReturnType<typeof createCommandExecutor>>;

/**
 * Applies each command id AT MOST ONCE (BRIEF.md, "Agent link protocol"): a duplicate that
 * arrives while the first is running joins it, one that arrives after gets the first
 * outcome again. With a file store this holds across agent restarts too; a command that a
 * restart interrupted before its outcome was recorded is run again (driver operations are
 * idempotent, so a second application converges on the same state).
 */
export async function createCommandExecutor(deps: CommandExecutorDeps) {
  const { driver, clock, store } = deps;
  const logger = deps.logger.child({ module: 'commands' });
  const entries = new Map<string, Entry>();
  let appends = 0;

  for (const record of await store.load()) {
    entries.set(
      record.commandId,
      record.state === 'done' && record.outcome !== undefined
        ? { state: 'done', deadline: record.deadline, outcome: record.outcome }
        : { state: 'interrupted', deadline: record.deadline },
    );
  }
  await compact();

  async function compact(): Promise<void> {
    const horizon = clock.now() - FORGET_AFTER_DEADLINE_MS;
    const keep: OutcomeRecord[] = [];
    for (const [commandId, entry] of entries) {
      if (entry.state !== 'running' && entry.deadline < horizon) {
        entries.delete(commandId);
        continue;
      }
      keep.push(
        entry.state === 'done'
          ? { commandId, deadline: entry.deadline, state: 'done', outcome: entry.outcome }
          : { commandId, deadline: entry.deadline, state: 'started' },
      );
    }
    await store.rewrite(keep);
    appends = 0;
  }

  async function record(entry: OutcomeRecord): Promise<void> {
    await store.append(entry);
    if (++appends >= COMPACT_EVERY) await compact();
  }

  async function apply(payload: CommandPayload): Promise<SessionObservation | undefined> {
    switch (payload.type) {
      case 'start_session':
        return (await driver.start(payload.spec)).observation;
      case 'wake_session':
        return (await driver.wake(payload.spec)).observation;
      case 'stop_session':
        await driver.stop(payload.sessionId, {
          deleteHome: payload.deleteHome,
          homeKey: payload.homeKey,
        });
        return undefined;
      case 'hibernate_session':
        await driver.hibernate(payload.sessionId);
        return undefined;
    }
  }

  async function run(message: CommandMessage, deadline: number): Promise<CommandOutcome> {
    const log = logger.child({ commandId: message.commandId });
    // Written before the driver runs: after a crash we know not to run it again.
    await record({ commandId: message.commandId, deadline, state: 'started' });
    let outcome: CommandOutcome;
    try {
      const observation = await apply(message.command);
      outcome = observation === undefined ? { ok: true } : { ok: true, observation };
      log.info({ type: message.command.type }, 'command applied');
    } catch (error) {
      const code = isDriverError(error) ? error.code : 'platform_error';
      const text = error instanceof Error ? error.message : String(error);
      outcome = { ok: false, error: { code, message: text.slice(0, 4096) } };
      log.warn({ type: message.command.type, code }, 'command failed');
    }
    entries.set(message.commandId, { state: 'done', deadline, outcome });
    await record({ commandId: message.commandId, deadline, state: 'done', outcome }).catch(
      (error: unknown) => log.error({ err: error }, 'could not persist command outcome'),
    );
    try {
      deps.onApplied?.(message.command, outcome);
    } catch (error) {
      log.error({ err: error }, 'outcome listener failed');
    }
    return outcome;
  }

  return {
    /**
     * The outcome of this command id: the running or recorded one for a duplicate, a
     * failure without running for a command past its deadline, else the driver's.
     */
    execute(message: CommandMessage): Promise<CommandOutcome> {
      const existing = entries.get(message.commandId);
      if (existing?.state === 'running') return existing.done;
      if (existing?.state === 'done') return Promise.resolve(existing.outcome);
      // A command cut short by an agent restart is applied again: whether the first attempt
      // took effect is unknown, and every driver operation is idempotent (a hibernate of a
      // hibernated session resolves), so running it again is the only way to a known outcome.
      if (existing?.state === 'interrupted')
        logger.info(
          { commandId: message.commandId },
          'resuming a command interrupted by a restart',
        );
      const deadline = Date.parse(message.deadline);
      if (clock.now() > deadline) {
        const outcome: CommandOutcome = {
          ok: false,
          error: {
            code: 'platform_error',
            message: 'the command reached the agent after its deadline and was not run',
          },
        };
        entries.set(message.commandId, { state: 'done', deadline, outcome });
        return Promise.resolve(outcome);
      }
      const done = run(message, deadline).catch((error: unknown): CommandOutcome => {
        // Only the store can fail here (the driver's errors are outcomes). Forget the entry
        // so that a re-send can try again: nothing ran, the `started` line never landed.
        entries.delete(message.commandId);
        throw error;
      });
      entries.set(message.commandId, { state: 'running', deadline, done });
      return done;
    },
    /** Commands whose driver call has not finished. */
    inFlight(): Promise<CommandOutcome>[] {
      return [...entries.values()].flatMap((entry) =>
        entry.state === 'running' ? [entry.done] : [],
      );
    },
  };
}
