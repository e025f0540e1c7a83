import type { Clock } from '@streamspace/protocol';
import { generateSecret, hashSecret } from '../auth/secrets';
import type { Db } from '../db/database';

/** How long a viewer ticket stays valid, in ms (docs/api.md: single use, 30 s). */
export const VNC_TICKET_TTL_MS = 30_000;

export interface IssuedTicket {
  ticket: string;
  expiresAt: Date;
}

export interface ConsumedTicket {
  userId: string;
  sessionId: string;
}

export type VncTickets = ReturnType<typeof createVncTickets>;

/**
 * Short-lived single-use tickets for the /vnc WebSocket, so no long-lived credential goes in
 * a URL (BRIEF.md, "Browser path"). Only the SHA-256 of a ticket is stored.
 */
export function createVncTickets({
  db,
  clock,
  ttlMs = VNC_TICKET_TTL_MS,
}: {
  db: Db;
  clock: Clock;
  ttlMs?: number;
}) {
  return {
    async issue(sessionId: string, userId: string): Promise<IssuedTicket> {
      const ticket = generateSecret('sst');
      const expiresAt = new Date(clock.now() + ttlMs);
      await db
        .insertInto('vncTickets')
        .values({ ticketHash: hashSecret(ticket), sessionId, userId, expiresAt })
        .execute();
      // Expired tickets are useless; drop them as new ones are issued so the table stays small.
      await db
        .deleteFrom('vncTickets')
        .where('expiresAt', '<', new Date(clock.now() - ttlMs))
        .execute();
      return { ticket, expiresAt };
    },

    /**
     * Atomically marks the ticket used and returns who it was issued to; null when it is
     * unknown, for another session, already used or expired. One UPDATE, so two viewers
     * racing with the same ticket cannot both win.
     */
    async consume(ticket: string, sessionId: string): Promise<ConsumedTicket | null> {
      const now = new Date(clock.now());
      const row = await db
        .updateTable('vncTickets')
        .set({ usedAt: now })
        .where('ticketHash', '=', hashSecret(ticket))
        .where('sessionId', '=', sessionId)
        .where('usedAt', 'is', null)
        .where('expiresAt', '>', now)
        .returning(['userId', 'sessionId'])
        .executeTakeFirst();
      return row ?? null;
    },
  };
}
