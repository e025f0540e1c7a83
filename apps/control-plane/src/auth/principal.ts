import type { Role } from '@streamspace/protocol';

/** Who is calling: resolved once per request from the cookie or bearer token. */
export interface Principal {
  userId: string;
  username: string;
  role: Role;
  /** The token row that authenticated this request (a login or a personal token). */
  tokenId: string;
}

export function isAdmin(principal: Principal): boolean {
  return principal.role === 'admin';
}

/** `user:alice` or `admin:root`: how events name the person who acted. */
export function actorOf(principal: Principal): string {
  return `${principal.role}:${principal.username}`;
}
