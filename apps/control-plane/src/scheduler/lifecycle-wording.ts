/**
 * The words lifecycle decisions are explained in (session events and state reasons). Users
 * read these in the timeline, so they say what was measured, when, and what to do.
 */

const MINUTE_MS = 60_000;

/** `14:02 UTC`, or `2026-11-26 14:02 UTC` when `at` is not on the same UTC day as `now`. */
export function formatTime(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 16)} UTC`;
}

/** `45 min`, `12 h`, `1 h 30 min`, `2 d 3 h`: whole minutes, rounded down. */
export function formatMinutes(minutes: number): string {
  const total = Math.max(0, Math.floor(minutes));
  if (total < 60) return `${total} min`;
  const days = Math.floor(total / 1440);
  const hours = Math.floor((total % 1440) / 60);
  const mins = total % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  return mins > 0 ? `${hours} h ${mins} min` : `${hours} h`;
}

export interface ViewerFacts {
  /** Viewers connected now (connected minus disconnected events, never below 0). */
  connected: number;
  /** When the last viewer left, if one ever did (ms since the epoch). */
  lastDisconnectedAt: number | undefined;
}

export interface IdleFacts {
  now: number;
  lastActivityAt: number;
  createdAt: number;
  idleMinutes: number;
  viewers: ViewerFacts;
}

function activityPhrase({ lastActivityAt, createdAt, now }: IdleFacts): string {
  // Activity is stamped at creation; no later stamp means nobody ever used the session.
  return lastActivityAt - createdAt < 1000
    ? `no input since it started at ${formatTime(createdAt, now)}`
    : `last input ${formatTime(lastActivityAt, now)}`;
}

function viewerPhrase({ viewers, now }: IdleFacts): string {
  if (viewers.connected > 0) {
    return `${viewers.connected} viewer${viewers.connected > 1 ? 's' : ''} connected without input`;
  }
  return viewers.lastDisconnectedAt === undefined
    ? 'no viewer ever connected'
    : `no viewer since ${formatTime(viewers.lastDisconnectedAt, now)}`;
}

/** `idle for 30 min (last input 14:02 UTC, no viewer since 14:05 UTC)` */
export function idleHibernationReason(facts: IdleFacts): string {
  const idleFor = formatMinutes((facts.now - facts.lastActivityAt) / MINUTE_MS);
  return `idle for ${idleFor} (${activityPhrase(facts)}, ${viewerPhrase(facts)})`;
}

export function idleWarningReason(facts: IdleFacts): string {
  const hibernateAt = facts.lastActivityAt + facts.idleMinutes * MINUTE_MS;
  return (
    `will hibernate at ${formatTime(hibernateAt, facts.now)} after ` +
    `${formatMinutes(facts.idleMinutes)} without activity (${activityPhrase(facts)}, ` +
    `${viewerPhrase(facts)}); use the session or press keep-alive to keep it running`
  );
}

export interface DurationFacts {
  now: number;
  createdAt: number;
  maxMinutes: number;
}

export function maxDurationStopReason({ now, createdAt, maxMinutes }: DurationFacts): string {
  return (
    `maximum session duration of ${formatMinutes(maxMinutes)} reached ` +
    `(started ${formatTime(createdAt, now)}); home kept`
  );
}

export function maxDurationWarningReason({ now, createdAt, maxMinutes }: DurationFacts): string {
  const stopAt = createdAt + maxMinutes * MINUTE_MS;
  return (
    `will stop at ${formatTime(stopAt, now)}: maximum session duration of ` +
    `${formatMinutes(maxMinutes)} (started ${formatTime(createdAt, now)}); your home is kept`
  );
}
