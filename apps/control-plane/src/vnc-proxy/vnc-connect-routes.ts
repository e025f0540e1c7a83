import type { FastifyInstance } from 'fastify';
import type { ConnectResponse } from '@streamspace/protocol';
import type { RequestAuth } from '../auth/request-auth';
import { isAdmin } from '../auth/principal';
import type { Db } from '../db/database';
import { ApiError, notFound } from '../http/api-error';
import { parseIdParam } from '../http/parse';
import type { VncTickets } from './vnc-tickets';

export interface VncConnectRoutesDeps {
  db: Db;
  guard: RequestAuth;
  tickets: VncTickets;
}

/** The viewer's path for a session; the ticket goes in the query (it is single-use, 30 s). */
function vncPath(sessionId: string, ticket: string): string {
  return `/vnc/${sessionId}?ticket=${encodeURIComponent(ticket)}`;
}

export function registerVncConnectRoutes(
  app: FastifyInstance,
  { db, guard, tickets }: VncConnectRoutesDeps,
): void {
  // owner, admin
  app.post('/api/v1/sessions/:id/connect', async (request): Promise<ConnectResponse> => {
    const principal = await guard.requireUser(request);
    const sessionId = parseIdParam(request.params, 'session');
    const session = await db
      .selectFrom('sessions')
      .select(['id', 'userId', 'state', 'vncPassword'])
      .where('id', '=', sessionId)
      .executeTakeFirst();
    // Another user's session is reported as missing, never as forbidden (CONVENTIONS #4).
    if (session === undefined || (session.userId !== principal.userId && !isAdmin(principal))) {
      throw notFound('session');
    }
    if (session.state !== 'running') {
      throw new ApiError('session_not_running', `the session is ${session.state}, not running`, {
        state: session.state,
      });
    }
    const issued = await tickets.issue(session.id, principal.userId);
    return {
      ticket: issued.ticket,
      url: vncPath(session.id, issued.ticket),
      vncPassword: session.vncPassword === '' ? null : session.vncPassword,
      expiresAt: issued.expiresAt.toISOString(),
    };
  });
}
