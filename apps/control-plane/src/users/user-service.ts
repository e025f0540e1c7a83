import type { CreateUserRequest, UpdateUserRequest, User } from '@streamspace/protocol';
import type { Logger } from 'pino';
import { hashPassword } from '../auth/passwords';
import { generatePassword } from '../auth/secrets';
import { toUser } from '../auth/auth-service';
import type { Db } from '../db/database';
import { ApiError } from '../http/api-error';

export type UserService = ReturnType<typeof createUserService>;

export function createUserService({ db }: { db: Db }) {
  async function list(): Promise<User[]> {
    const rows = await db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUser);
  }

  async function create(request: CreateUserRequest): Promise<User> {
    const passwordHash = await hashPassword(request.password);
    const row = await db
      .insertInto('users')
      .values({
        username: request.username,
        passwordHash,
        role: request.role,
        idleTimeoutMinutes: null,
        maxDurationMinutes: null,
      })
      .onConflict((oc) => oc.column('username').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row === undefined)
      throw new ApiError('conflict', `user "${request.username}" already exists`);
    return toUser(row);
  }

  async function update(
    id: string,
    request: UpdateUserRequest,
    actingUserId: string,
  ): Promise<User> {
    if (id === actingUserId && (request.disabled === true || request.role === 'user')) {
      throw new ApiError('conflict', 'you cannot disable or demote yourself');
    }
    const row = await db
      .updateTable('users')
      .set({
        ...(request.role !== undefined ? { role: request.role } : {}),
        ...(request.disabled !== undefined ? { disabled: request.disabled } : {}),
        ...(request.maxDurationMinutes !== undefined
          ? { maxDurationMinutes: request.maxDurationMinutes }
          : {}),
        ...(request.idleTimeoutMinutes !== undefined
          ? { idleTimeoutMinutes: request.idleTimeoutMinutes }
          : {}),
        ...(request.password !== undefined
          ? { passwordHash: await hashPassword(request.password) }
          : {}),
        updatedAt: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw new ApiError('not_found', 'user not found');
    if (request.disabled === true || request.password !== undefined) {
      // A disabled user or a reset password ends every existing login of that user.
      await db
        .updateTable('apiTokens')
        .set({ revokedAt: new Date() })
        .where('userId', '=', id)
        .where('kind', '=', 'login')
        .where('revokedAt', 'is', null)
        .execute();
    }
    return toUser(row);
  }

  return { list, create, update };
}

/**
 * First start: create `admin` with STREAMSPACE_ADMIN_PASSWORD, or a generated password
 * printed once to stdout (never to the log). Later starts change nothing.
 */
export async function ensureAdminUser(
  db: Db,
  password: string | undefined,
  logger: Logger,
): Promise<void> {
  const existing = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .executeTakeFirst();
  if (existing !== undefined) return;
  const chosen = password ?? generatePassword();
  await db
    .insertInto('users')
    .values({
      username: 'admin',
      passwordHash: await hashPassword(chosen),
      role: 'admin',
      idleTimeoutMinutes: null,
      maxDurationMinutes: null,
    })
    .onConflict((oc) => oc.column('username').doNothing())
    .execute();
  logger.info(
    { username: 'admin', passwordFrom: password === undefined ? 'generated' : 'environment' },
    'created admin user',
  );
  if (password === undefined) {
    process.stdout.write(
      `\n  StreamSpace created the user "admin" with the password: ${chosen}\n  It is shown only this once.\n\n`,
    );
  }
}
