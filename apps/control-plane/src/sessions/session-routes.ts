import type { FastifyInstance } from 'fastify';
import { CreateSessionRequest, DeleteSessionQuery, SessionListQuery } from '@streamspace/protocol';
import type { RequestAuth } from '../auth/request-auth';
import { parseIdParam, parseInput } from '../http/parse';
import type { SessionService } from './session-service';

export function registerSessionRoutes(
  app: FastifyInstance,
  { sessions, guard }: { sessions: SessionService; guard: RequestAuth },
): void {
  // signed in
  app.post('/api/v1/sessions', async (request, reply) => {
    const principal = await guard.requireUser(request);
    return reply
      .status(201)
      .send(await sessions.create(principal, parseInput(CreateSessionRequest, request.body)));
  });

  // signed in: a page of own sessions; admins may ask for scope=all (docs/api.md "Pagination")
  app.get('/api/v1/sessions', async (request) => {
    const principal = await guard.requireUser(request);
    return sessions.list(principal, parseInput(SessionListQuery, request.query, 'query'));
  });

  // owner, admin
  app.get('/api/v1/sessions/:id', async (request) => {
    const principal = await guard.requireUser(request);
    return sessions.get(principal, parseIdParam(request.params, 'session'));
  });

  // owner, admin
  app.get('/api/v1/sessions/:id/events', async (request) => {
    const principal = await guard.requireUser(request);
    return { items: await sessions.events(principal, parseIdParam(request.params, 'session')) };
  });

  // owner, admin
  app.post('/api/v1/sessions/:id/stop', async (request, reply) => {
    const principal = await guard.requireUser(request);
    const id = parseIdParam(request.params, 'session');
    return reply
      .status(202)
      .send(await sessions.stop(principal, id, { deleteHome: false, markDeleted: false }));
  });

  // owner, admin
  app.post('/api/v1/sessions/:id/hibernate', async (request, reply) => {
    const principal = await guard.requireUser(request);
    return reply
      .status(202)
      .send(await sessions.hibernate(principal, parseIdParam(request.params, 'session')));
  });

  // owner, admin
  app.post('/api/v1/sessions/:id/wake', async (request, reply) => {
    const principal = await guard.requireUser(request);
    return reply
      .status(202)
      .send(await sessions.wake(principal, parseIdParam(request.params, 'session')));
  });

  // owner, admin
  app.post('/api/v1/sessions/:id/keepalive', async (request) => {
    const principal = await guard.requireUser(request);
    return sessions.keepalive(principal, parseIdParam(request.params, 'session'));
  });

  // owner, admin: stops the session and hides it; the home is deleted only with deleteHome=true
  app.delete('/api/v1/sessions/:id', async (request, reply) => {
    const principal = await guard.requireUser(request);
    const id = parseIdParam(request.params, 'session');
    const { deleteHome } = parseInput(DeleteSessionQuery, request.query, 'query');
    return reply.status(202).send(
      await sessions.stop(principal, id, {
        deleteHome: deleteHome === 'true',
        markDeleted: true,
      }),
    );
  });
}
