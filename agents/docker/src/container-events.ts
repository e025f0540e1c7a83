import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock, ClockTimer } from '@streamspace/protocol';

export type ContainerAction = 'die' | 'oom' | 'destroy';

export interface ContainerEvent {
  action: ContainerAction;
  containerId: string;
  /** The container's labels, name, image and (for die) exitCode, as Docker reports them. */
  attributes: Record<string, string>;
  /** Exit code of a `die` event. */
  exitCode?: number;
}

export interface ContainerEventWatcher {
  /** Resolves once the first subscription is open: no later event is missed. */
  ready: Promise<void>;
  close(): void;
}

const ACTIONS: ContainerAction[] = ['die', 'oom', 'destroy'];
/** Wait before re-subscribing after the event stream ends (dockerd restarted), in ms. */
const RESUBSCRIBE_MS = 1_000;
/** Remembered event keys, to drop the repeats a `since` re-subscription replays. */
const SEEN_LIMIT = 1024;

/**
 * Follows Docker's event stream for containers matching `labelFilters` and calls onEvent for
 * die / oom / destroy. Re-subscribes with `since` when the stream ends, so a dockerd restart
 * loses nothing.
 */
export function watchContainerEvents(deps: {
  docker: Docker;
  labelFilters: string[];
  onEvent: (event: ContainerEvent) => void;
  clock: Clock;
  logger: Logger;
}): ContainerEventWatcher {
  const { docker, labelFilters, onEvent, clock, logger } = deps;
  let closed = false;
  let stream: Readable | undefined;
  let retry: ClockTimer | undefined;
  /** Seconds since the epoch of the newest event seen (Docker's `since` unit). */
  let since: number | undefined;
  const seen = new Set<string>();
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const handle = (line: string) => {
    if (line.trim() === '') return;
    let raw: {
      Action?: string;
      Actor?: { ID?: string; Attributes?: Record<string, string> };
      time?: number;
      timeNano?: number;
    };
    try {
      raw = JSON.parse(line) as typeof raw;
    } catch {
      logger.warn('unparseable docker event');
      return;
    }
    const action = raw.Action as ContainerAction;
    const containerId = raw.Actor?.ID;
    if (!ACTIONS.includes(action) || containerId === undefined) return;
    const key = `${containerId}:${action}:${raw.timeNano ?? raw.time}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
    if (raw.time !== undefined) since = raw.time;
    const attributes = raw.Actor?.Attributes ?? {};
    const exitCode = attributes.exitCode === undefined ? undefined : Number(attributes.exitCode);
    onEvent({ action, containerId, attributes, exitCode });
  };

  const subscribe = async () => {
    retry = undefined;
    try {
      const opened = (await docker.getEvents({
        ...(since === undefined ? {} : { since }),
        filters: { type: ['container'], event: ACTIONS, label: labelFilters },
      })) as Readable;
      if (closed) {
        opened.destroy();
        return;
      }
      stream = opened;
      markReady();
      let buffered = '';
      opened.setEncoding('utf8');
      opened.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          handle(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
        }
      });
      opened.on('error', () => {});
      opened.on('close', () => {
        if (stream === opened) stream = undefined;
        if (!closed) {
          logger.warn('docker event stream ended; re-subscribing');
          retry = clock.setTimeout(() => void subscribe(), RESUBSCRIBE_MS);
        }
      });
    } catch (error) {
      if (closed) return;
      logger.warn({ err: error }, 'docker event subscription failed; retrying');
      retry = clock.setTimeout(() => void subscribe(), RESUBSCRIBE_MS);
    }
  };
  void subscribe();

  return {
    ready,
    close: () => {
      closed = true;
      if (retry !== undefined) clock.clearTimeout(retry);
      stream?.destroy();
      markReady();
    },
  };
}
