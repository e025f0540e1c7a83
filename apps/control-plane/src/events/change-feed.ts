import type { Logger } from 'pino';
import pg from 'pg';

/** PostgreSQL channel carrying `session:<id>` and `agent:<id>`: ids only, never data. */
export const CHANGE_CHANNEL = 'streamspace_changes';

export type Change = { kind: 'session' | 'agent'; id: string };
export type ChangeListener = (change: Change) => void;

export type ChangeFeed = Awaited<ReturnType<typeof createChangeFeed>>;

/**
 * Change notifications across control-plane replicas (BRIEF.md: LISTEN/NOTIFY carrying ids
 * only). `publish` NOTIFYs; every replica's listeners receive it, including this one's.
 * Notifications are coalesced per 50 ms so a burst of updates is one message per id.
 */
export async function createChangeFeed({
  databaseUrl,
  pool,
  logger,
}: {
  databaseUrl: string;
  pool: pg.Pool;
  logger: Logger;
}) {
  const log = logger.child({ module: 'change-feed' });
  const listeners = new Set<ChangeListener>();
  const pending = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let listener: pg.Client | undefined;
  let closed = false;

  async function connectListener(): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', (message) => {
      const [kind, id] = (message.payload ?? '').split(':');
      if ((kind === 'session' || kind === 'agent') && id !== undefined) {
        for (const listen of listeners) listen({ kind, id });
      }
    });
    client.on('error', (error) => {
      log.warn({ err: error.message }, 'change feed connection lost; reconnecting');
      listener = undefined;
      if (!closed) setTimeout(() => void connectListener().catch(() => {}), 1000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    listener = client;
  }
  await connectListener();

  function flush(): void {
    flushTimer = undefined;
    const payloads = [...pending];
    pending.clear();
    for (const payload of payloads) {
      pool.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, payload]).catch((error: Error) => {
        log.warn({ err: error.message }, 'change notification failed');
      });
    }
  }

  return {
    publish(change: Change): void {
      if (closed) return;
      pending.add(`${change.kind}:${change.id}`);
      flushTimer ??= setTimeout(flush, 50);
    },
    subscribe(listen: ChangeListener): () => void {
      listeners.add(listen);
      return () => listeners.delete(listen);
    },
    async close(): Promise<void> {
      closed = true;
      if (flushTimer !== undefined) {
        clearTimeout(flushTimer);
        flush();
      }
      listeners.clear();
      await listener?.end().catch(() => {});
    },
  };
}
