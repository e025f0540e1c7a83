import type { FastifyInstance } from 'fastify';
import type { Agent, Session } from '@streamspace/protocol';
import { isAdmin } from '../auth/principal';
import type { RequestAuth } from '../auth/request-auth';
import type { ChangeFeed } from './change-feed';

/**
 * Milliseconds between comment lines that keep proxies from closing an idle event stream; also
 * how long a revoked, disabled or demoted caller can go on receiving updates.
 */
const KEEPALIVE_MS = 15_000;

export interface EventStreamDeps {
  guard: RequestAuth;
  feed: Pick<ChangeFeed, 'subscribe'>;
  /** The session as the caller may see it, or null when it is not theirs. */
  loadSession: (sessionId: string) => Promise<Session | null>;
  loadAgent: (agentId: string) => Promise<Agent | null>;
  /** Keepalive and re-authentication interval in ms (tests shorten it). */
  keepaliveMs?: number;
}

export function registerEventStreamRoutes(
  app: FastifyInstance,
  { guard, feed, loadSession, loadAgent, keepaliveMs = KEEPALIVE_MS }: EventStreamDeps,
): void {
  const open = new Set<{ end(): void }>();
  // Hijacked responses are not Fastify's to close: end them so shutdown does not wait on them.
  app.addHook('onClose', async () => {
    for (const stream of open) stream.end();
  });

  // signed in: server-sent events for the sessions (and, for admins, agents) the caller may see
  app.get('/api/v1/events', async (request, reply) => {
    // Replaced at every keepalive by a fresh authentication of the same credential.
    let principal = await guard.requireUser(request);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(': connected\n\n');
    const send = (event: string, data: unknown) =>
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const unsubscribe = feed.subscribe((change) => {
      void (async () => {
        if (change.kind === 'session') {
          const session = await loadSession(change.id);
          if (session !== null && (session.userId === principal.userId || isAdmin(principal)))
            send('session', session);
        } else if (isAdmin(principal)) {
          const agent = await loadAgent(change.id);
          if (agent !== null) send('agent', agent);
        }
      })().catch((error: Error) =>
        request.log.warn({ err: error.message }, 'event stream update failed'),
      );
    });
    const keepalive = setInterval(() => {
      void guard
        .reauthenticate(request)
        .then((fresh) => {
          if (fresh === null) {
            // Logged out, token revoked or expired, or user disabled: no more updates.
            raw.end();
            return;
          }
          principal = fresh;
          raw.write(': keepalive\n\n');
        })
        .catch((error: Error) =>
          request.log.warn({ err: error.message }, 'event stream re-authentication failed'),
        );
    }, keepaliveMs);
    open.add(raw);
    raw.on('close', () => {
      open.delete(raw);
      clearInterval(keepalive);
      unsubscribe();
    });
  });
}
