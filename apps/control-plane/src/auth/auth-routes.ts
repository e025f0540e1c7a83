import type { FastifyInstance } from 'fastify';
import { CreateApiTokenRequest, LoginRequest } from '@streamspace/protocol';
import { parseIdParam, parseInput } from '../http/parse';
import type { AuthService } from './auth-service';
import { clearSessionCookie, setSessionCookie, type RequestAuth } from './request-auth';

export interface AuthRoutesDeps {
  auth: AuthService;
  guard: RequestAuth;
  /** Whether cookies get the Secure flag for this request (HTTPS or forced by config). */
  secureCookie: (protocol: string) => boolean;
}

export function registerAuthRoutes(
  app: FastifyInstance,
  { auth, guard, secureCookie }: AuthRoutesDeps,
): void {
  // anyone
  app.post('/api/v1/auth/login', async (request, reply) => {
    const body = parseInput(LoginRequest, request.body);
    const result = await auth.login(body.username, body.password);
    setSessionCookie(reply, result.token, secureCookie(request.protocol));
    return result;
  });

  // signed in
  app.post('/api/v1/auth/logout', async (request, reply) => {
    const principal = await guard.requireUser(request);
    await auth.logout(principal);
    clearSessionCookie(reply);
    return reply.status(204).send();
  });

  // signed in
  app.get('/api/v1/auth/me', async (request) => {
    const principal = await guard.requireUser(request);
    return auth.getUser(principal.userId);
  });

  // signed in: own tokens only
  app.get('/api/v1/auth/tokens', async (request) => {
    const principal = await guard.requireUser(request);
    return { items: await auth.listTokens(principal.userId) };
  });

  // signed in
  app.post('/api/v1/auth/tokens', async (request, reply) => {
    const principal = await guard.requireUser(request);
    const body = parseInput(CreateApiTokenRequest, request.body);
    return reply.status(201).send(await auth.createToken(principal.userId, body));
  });

  // owner of the token
  app.delete('/api/v1/auth/tokens/:id', async (request, reply) => {
    const principal = await guard.requireUser(request);
    await auth.revokeToken(principal.userId, parseIdParam(request.params, 'API token'));
    return reply.status(204).send();
  });
}
