import type { FastifyInstance } from 'fastify';
import type { Agent, Session } from '@streamspace/protocol';
import { isAdmin, type Principal } from '../auth/principal';
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

/** One open event stream: who it is for (renewed at each keepalive) and how to write to it. */
interface Subscriber {
  principal: Principal;
  write(frame: string): void;
  end(): void;
}

/** A server-sent event, serialised once however many streams it goes to. */
const eventFrame = (event: string, data: unknown) =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function registerEventStreamRoutes(
  app: FastifyInstance,
  { guard, feed, loadSession, loadAgent, keepaliveMs = KEEPALIVE_MS }: EventStreamDeps,
): void {
  const subscribers = new Set<Subscriber>();

  // One subscription for every stream: a change is read once, however many browsers watch
  // (N streams no longer mean N queries per change), then sent to those who may see it.
  const unsubscribe = feed.subscribe((change) => {
    if (subscribers.size === 0) return;
    void (async () => {
      if (change.kind === 'session') {
        const session = await loadSession(change.id);
        if (session === null) return;
        const frame = eventFrame('session', session);
        for (const subscriber of subscribers) {
          const { principal } = subscriber;
          if (session.userId === principal.userId || isAdmin(principal)) subscriber.write(frame);
        }
      } else {
        const admins = [...subscribers].filter((subscriber) => isAdmin(subscriber.principal));
        if (admins.length === 0) return;
        const agent = await loadAgent(change.id);
        if (agent === null) return;
        const frame = eventFrame('agent', agent);
        for (const subscriber of admins) subscriber.write(frame);
      }
    })().catch((error: Error) =>
      app.log.warn({ err: error.message }, 'event stream update failed'),
    );
  });
  // Hijacked responses are not Fastify's to close: end them so shutdown does not wait on them.
  app.addHook('onClose', async () => {
    unsubscribe();
    const streams = [...subscribers];
    subscribers.clear();
    for (const subscriber of streams) subscriber.end();
  });

  // signed in: server-sent events for the sessions (and, for admins, agents) the caller may see
  app.get('/api/v1/events', async (request, reply) => {
    const principal = await guard.requireUser(request);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(': connected\n\n');
    // Its principal is replaced at every keepalive by a fresh authentication of the credential.
    const subscriber: Subscriber = {
      principal,
      // Never after the end: a response written after end() emits an 'error' nobody handles.
      write: (frame) => {
        if (!raw.writableEnded && !raw.destroyed) raw.write(frame);
      },
      end: () => raw.end(),
    };
    subscribers.add(subscriber);
    const keepalive = setInterval(() => {
      void guard
        .reauthenticate(request)
        .then((fresh) => {
          if (fresh === null) {
            // Logged out, token revoked or expired, or user disabled: no more updates.
            subscribers.delete(subscriber);
            subscriber.end();
            return;
          }
          subscriber.principal = fresh;
          subscriber.write(': keepalive\n\n');
        })
        .catch((error: Error) =>
          request.log.warn({ err: error.message }, 'event stream re-authentication failed'),
        );
    }, keepaliveMs);
    raw.on('close', () => {
      subscribers.delete(subscriber);
      clearInterval(keepalive);
    });
  });
}
