import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Clock } from '@streamspace/protocol';
import { createTestDatabase, type TestDatabase } from '@streamspace/test-kit';
import { createApp, type App } from '../src/app';
import { loadConfig, type Config } from '../src/config';

export const TEST_ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestApp {
  app: App;
  config: Config;
  database: TestDatabase;
  baseUrl: string;
  /** Stop the app (keeps the database), e.g. to restart on the same database. */
  stop(): Promise<void>;
  /** Stop the app and drop its database. */
  close(): Promise<void>;
}

/** A real control plane on a fresh PostgreSQL database, listening on a free loopback port. */
export async function startTestApp(
  options: { database?: TestDatabase; env?: Record<string, string>; clock?: Clock } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    STREAMSPACE_DATA_DIR: await mkdtemp(join(tmpdir(), 'streamspace-cp-')),
    STREAMSPACE_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    STREAMSPACE_EMBEDDED_AGENT: 'none',
    STREAMSPACE_LOG_LEVEL: process.env.STREAMSPACE_TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const logger = pino({ level: config.logLevel });
  const app = await createApp({
    config,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await app.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  return {
    app,
    config,
    database,
    baseUrl: app.url(),
    stop,
    close: async () => {
      await stop();
      await database.drop();
    },
  };
}

/** A tiny typed fetch for tests: JSON in, status + parsed JSON out. */
export async function api(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? null : JSON.parse(text),
    headers: response.headers,
  };
}

export async function loginAs(
  baseUrl: string,
  username: string,
  password: string,
): Promise<string> {
  const response = await api(baseUrl, 'POST', '/api/v1/auth/login', {
    body: { username, password },
  });
  if (response.status !== 200)
    throw new Error(`login as ${username} failed: ${JSON.stringify(response.body)}`);
  return response.body.token as string;
}

/** Create a user through the admin API and return a login token for them. */
export async function createUser(
  baseUrl: string,
  adminToken: string,
  username: string,
): Promise<{ id: string; token: string }> {
  const password = `${username}-password`;
  const created = await api(baseUrl, 'POST', '/api/v1/users', {
    token: adminToken,
    body: { username, password, role: 'user' },
  });
  if (created.status !== 201)
    throw new Error(`create user failed: ${JSON.stringify(created.body)}`);
  return { id: created.body.id, token: await loginAs(baseUrl, username, password) };
}
