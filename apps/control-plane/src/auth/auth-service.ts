import type { ApiToken, Clock, CreateApiTokenRequest, User } from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { UserRow } from '../db/schema';
import { ApiError } from '../http/api-error';
import { hashPassword, verifyPassword } from './passwords';
import type { Principal } from './principal';
import { generateSecret, hashSecret } from './secrets';

/** A browser login lasts this long without use, in ms (sliding: each use extends it). */
export const LOGIN_TTL_MS = 12 * 60 * 60 * 1000;

export interface AuthServiceDeps {
  db: Db;
  clock: Clock;
}

export type AuthService = ReturnType<typeof createAuthService>;

// A fixed argon2 hash to verify against when the username does not exist, so that a
// wrong username and a wrong password take the same time.
const DUMMY_HASH_PASSWORD = 'streamspace-timing-equaliser';

export function createAuthService({ db, clock }: AuthServiceDeps) {
  let dummyHash: Promise<string> | undefined;

  async function login(username: string, password: string): Promise<{ token: string; user: User }> {
    const row = await db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    if (row === undefined) {
      dummyHash ??= hashPassword(DUMMY_HASH_PASSWORD);
      await verifyPassword(await dummyHash, password);
      throw new ApiError('unauthenticated', 'wrong username or password');
    }
    if (!(await verifyPassword(row.passwordHash, password))) {
      throw new ApiError('unauthenticated', 'wrong username or password');
    }
    if (row.disabled) throw new ApiError('forbidden', 'this account is disabled');
    const token = generateSecret('ssu');
    await db
      .insertInto('apiTokens')
      .values({
        userId: row.id,
        kind: 'login',
        name: 'browser login',
        tokenHash: hashSecret(token),
        expiresAt: new Date(clock.now() + LOGIN_TTL_MS),
      })
      .execute();
    return { token, user: toUser(row) };
  }

  /** Resolve a bearer token or cookie value to a principal, or null when it is not valid. */
  async function authenticate(token: string): Promise<Principal | null> {
    if (!/^ss[up]_[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
    const row = await db
      .selectFrom('apiTokens')
      .innerJoin('users', 'users.id', 'apiTokens.userId')
      .select([
        'apiTokens.id as tokenId',
        'apiTokens.kind',
        'apiTokens.expiresAt',
        'apiTokens.revokedAt',
        'apiTokens.lastUsedAt',
        'users.id as userId',
        'users.username',
        'users.role',
        'users.disabled',
      ])
      .where('apiTokens.tokenHash', '=', hashSecret(token))
      .executeTakeFirst();
    const now = clock.now();
    if (row === undefined || row.revokedAt !== null || row.disabled) return null;
    if (row.expiresAt !== null && row.expiresAt.getTime() <= now) return null;
    // Write last-use at most once a minute per token: a busy UI must not turn reads into writes.
    if (row.lastUsedAt === null || now - row.lastUsedAt.getTime() > 60_000) {
      await db
        .updateTable('apiTokens')
        .set({
          lastUsedAt: new Date(now),
          ...(row.kind === 'login' ? { expiresAt: new Date(now + LOGIN_TTL_MS) } : {}),
        })
        .where('id', '=', row.tokenId)
        .execute();
    }
    return { userId: row.userId, username: row.username, role: row.role, tokenId: row.tokenId };
  }

  async function logout(principal: Principal): Promise<void> {
    await db
      .updateTable('apiTokens')
      .set({ revokedAt: new Date(clock.now()) })
      .where('id', '=', principal.tokenId)
      .where('kind', '=', 'login')
      .execute();
  }

  async function listTokens(userId: string): Promise<ApiToken[]> {
    const rows = await db
      .selectFrom('apiTokens')
      .selectAll()
      .where('userId', '=', userId)
      .where('kind', '=', 'personal')
      .where('revokedAt', 'is', null)
      .orderBy('createdAt', 'desc')
      .execute();
    return rows.map(toApiToken);
  }

  async function createToken(
    userId: string,
    request: CreateApiTokenRequest,
  ): Promise<{ token: string; apiToken: ApiToken }> {
    const token = generateSecret('ssp');
    const expiresAt =
      request.expiresInDays === undefined
        ? null
        : new Date(clock.now() + request.expiresInDays * 86_400_000);
    const row = await db
      .insertInto('apiTokens')
      .values({
        userId,
        kind: 'personal',
        name: request.name,
        tokenHash: hashSecret(token),
        expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { token, apiToken: toApiToken(row) };
  }

  async function revokeToken(userId: string, tokenId: string): Promise<void> {
    const result = await db
      .updateTable('apiTokens')
      .set({ revokedAt: new Date(clock.now()) })
      .where('id', '=', tokenId)
      .where('userId', '=', userId)
      .where('kind', '=', 'personal')
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new ApiError('not_found', 'API token not found');
  }

  async function getUser(userId: string): Promise<User> {
    const row = await db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', userId)
      .executeTakeFirst();
    if (row === undefined) throw new ApiError('not_found', 'user not found');
    return toUser(row);
  }

  return { login, authenticate, logout, listTokens, createToken, revokeToken, getUser };
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    disabled: row.disabled,
    idleTimeoutMinutes: row.idleTimeoutMinutes,
    maxDurationMinutes: row.maxDurationMinutes,
    createdAt: row.createdAt.toISOString(),
  };
}

function toApiToken(row: {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}): ApiToken {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
  };
}
