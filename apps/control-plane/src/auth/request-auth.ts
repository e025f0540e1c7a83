import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../http/api-error';
import type { AuthService } from './auth-service';
import type { Principal } from './principal';

export const SESSION_COOKIE = 'streamspace_session';

/** Reads the bearer token, else the session cookie. Never a query parameter. */
export function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  return request.cookies[SESSION_COOKIE];
}

export type RequestAuth = ReturnType<typeof createRequestAuth>;

/** Route guards: every route calls exactly one of these first, which states who may call it. */
export function createRequestAuth(auth: AuthService) {
  const cache = new WeakMap<FastifyRequest, Principal | null>();

  async function principalOf(request: FastifyRequest): Promise<Principal | null> {
    if (cache.has(request)) return cache.get(request) ?? null;
    const credential = credentialOf(request);
    const principal = credential === undefined ? null : await auth.authenticate(credential);
    cache.set(request, principal);
    return principal;
  }

  /**
   * Authenticate the request's credential again, ignoring the per-request cache: for long-lived
   * responses (event streams) that must end when the login is revoked or the user disabled.
   */
  async function reauthenticate(request: FastifyRequest): Promise<Principal | null> {
    cache.delete(request);
    return principalOf(request);
  }

  async function requireUser(request: FastifyRequest): Promise<Principal> {
    const principal = await principalOf(request);
    if (principal === null)
      throw new ApiError(
        'unauthenticated',
        'sign in first (missing, expired or revoked credential)',
      );
    return principal;
  }

  async function requireAdmin(request: FastifyRequest): Promise<Principal> {
    const principal = await requireUser(request);
    if (principal.role !== 'admin') throw new ApiError('forbidden', 'this needs the admin role');
    return principal;
  }

  return { principalOf, reauthenticate, requireUser, requireAdmin };
}

export function setSessionCookie(reply: FastifyReply, token: string, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}
