import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema';
import type { Logger } from 'pino';

/** PostgreSQL channel carrying agent ids (never payloads) when commands are queued. */
export const COMMANDS_CHANNEL = 'streamspace_agent_commands';
const RECONNECT_MS = 1_000;

/**
 * Queue a notification inside `executor`'s transaction. PostgreSQL delivers it only when
 * that transaction commits, which is exactly "nudge the dispatcher after commit" — and it
 * reaches whichever replica holds the agent's socket.
 */
export async function notifyCommandsQueued(
  executor: Kysely<Database>,
  agentId: string,
): Promise<void> {
  await sql`SELECT pg_notify(${COMMANDS_CHANNEL}, ${agentId})`.execute(executor);
}

/**
 * LISTEN on one dedicated connection; reconnects after errors. Missed notifications are
 * harmless: the periodic sweep sends whatever is due.
 */
export function listenForQueuedCommands(
  databaseUrl: string,
  logger: Logger,
  onAgent: (agentId: string) => void,
): { close(): Promise<void> } {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  async function connect(): Promise<void> {
    if (closed) return;
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on('notification', (message) => {
      if (message.channel === COMMANDS_CHANNEL && message.payload) onAgent(message.payload);
    });
    next.on('error', (error) => {
      logger.warn({ err: error }, 'command listener connection failed');
      reconnect(next);
    });
    next.on('end', () => reconnect(next));
    try {
      await next.connect();
      await next.query(`LISTEN ${COMMANDS_CHANNEL}`);
      if (closed) {
        await next.end().catch(() => {});
        return;
      }
      client = next;
    } catch (error) {
      logger.warn({ err: error }, 'command listener could not connect');
      reconnect(next);
    }
  }

  function reconnect(failed: pg.Client): void {
    if (closed || retry !== undefined) return;
    if (client === failed) client = undefined;
    void failed.end().catch(() => {});
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, RECONNECT_MS);
    retry.unref();
  }

  void connect();
  return {
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
