import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock, SessionObservation } from '@streamspace/protocol';
import type { SessionChangeListener } from '@streamspace/session-driver';
import { watchContainerEvents, type ContainerEvent } from './container-events';
import { LABEL_MANAGED, LABEL_SESSION_ID, ownedBy } from './docker-labels';
import { lastLogLines } from './docker-logs';
import { describeExit, truncateReason } from './session-observation';

export interface SessionChangeReporter {
  /** Resolves once Docker's event stream is open. */
  ready: Promise<void>;
  /** The driver is about to stop or remove this container: its death is not news. */
  expectExit(containerId: string, ttlMs: number): void;
  /** start() owns this container's fate until settle(): it reports failures itself. */
  starting(containerId: string): void;
  settled(containerId: string): void;
  onSessionChange(listener: SessionChangeListener): () => void;
  close(): void;
}

/**
 * Turns Docker events into session observations: a managed container that dies while the
 * driver did not stop it is `failed` ("container exited with code 137 (OOM killed)"), or
 * `stopped` when its app exited 0; one removed behind the driver's back is `failed`.
 */
export function createSessionChangeReporter(deps: {
  docker: Docker;
  scope: string;
  clock: Clock;
  logger: Logger;
}): SessionChangeReporter {
  const { docker, scope, clock, logger } = deps;
  const listeners = new Set<SessionChangeListener>();
  const startingIds = new Set<string>();
  const expected = new Set<string>();
  /** Deaths already reported, so the destroy that follows is not reported again. */
  const reported = new Set<string>();
  const oomKilled = new Set<string>();

  const emit = (observation: SessionObservation) => {
    for (const listener of listeners) listener(observation);
  };

  const onEvent = async (event: ContainerEvent) => {
    const sessionId = event.attributes[LABEL_SESSION_ID];
    const id = event.containerId;
    // Docker reports a container's labels among the event's attributes.
    if (sessionId === undefined || !ownedBy(event.attributes, scope)) return;
    if (event.action === 'oom') {
      oomKilled.add(id);
      return;
    }
    if (event.action === 'destroy') oomKilled.delete(id);
    if (startingIds.has(id) || expected.has(id)) {
      if (event.action === 'destroy') expected.delete(id);
      return;
    }
    const short = id.slice(0, 12);
    const log = logger.child({ sessionId, containerId: short });
    if (event.action === 'die') {
      reported.add(id);
      const container = docker.getContainer(id);
      const info = await container.inspect().catch(() => undefined);
      const exitCode = info?.State.ExitCode ?? event.exitCode ?? -1;
      const oom = info?.State.OOMKilled === true || oomKilled.has(id);
      const lines = await lastLogLines(container, 3);
      log.warn({ exitCode, oomKilled: oom }, 'session container died');
      emit({
        sessionId,
        status: exitCode === 0 && !oom ? 'stopped' : 'failed',
        reason: describeExit(exitCode, oom),
        details: {
          containerId: short,
          ...(lines.length > 0 ? { lastLog: truncateReason(lines.join('\n')) } : {}),
        },
      });
      return;
    }
    if (reported.delete(id)) return;
    log.warn('session container removed behind the driver');
    emit({
      sessionId,
      status: 'failed',
      reason: 'container was removed outside StreamSpace',
      details: { containerId: short },
    });
  };

  const watcher = watchContainerEvents({
    docker,
    // Scope is checked per event: containers started by hand may lack the scope label.
    labelFilters: [`${LABEL_MANAGED}=true`],
    onEvent: (event) => void onEvent(event),
    clock,
    logger,
  });

  return {
    ready: watcher.ready,
    expectExit: (containerId, ttlMs) => {
      expected.add(containerId);
      clock.setTimeout(() => expected.delete(containerId), ttlMs);
    },
    starting: (containerId) => startingIds.add(containerId),
    settled: (containerId) => startingIds.delete(containerId),
    onSessionChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      watcher.close();
      listeners.clear();
    },
  };
}
