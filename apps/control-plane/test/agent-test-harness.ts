import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { WebSocket, type RawData } from 'ws';
import {
  PROTOCOL_VERSION,
  parseControlPlaneMessage,
  type Clock,
  type CommandPayload,
  type ControlPlaneMessage,
  type Platform,
  type SessionSpec,
} from '@streamspace/protocol';
import { createAgentRuntime, type AgentRuntime } from '@streamspace/agent-runtime';
import { FakeDriver } from '@streamspace/agent-runtime/fake-driver';
import { testSessionSpec, waitFor, type TestDatabase } from '@streamspace/test-kit';
import { createApp, type App, type AppDeps } from '../src/app';
import { loadConfig } from '../src/config';
import { api } from './test-app';

export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const silentLogger = pino({ level: process.env.STREAMSPACE_TEST_LOG_LEVEL ?? 'silent' });

export interface ControlPlane {
  app: App;
  url: string;
  adminToken: string;
}

/** A real control plane (createApp) on the test database, listening on 127.0.0.1. */
export async function startControlPlane(
  database: TestDatabase,
  options: {
    clock?: Clock;
    port?: number;
    env?: Record<string, string>;
    agentLink?: AppDeps['agentLink'];
  } = {},
): Promise<ControlPlane> {
  const config = loadConfig({
    PORT: String(options.port ?? 0),
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    STREAMSPACE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    STREAMSPACE_LOG_LEVEL: 'silent',
    STREAMSPACE_HEARTBEAT_INTERVAL_MS: '1000',
    STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '5000',
    ...options.env,
  });
  const app = await createApp({
    config,
    logger: silentLogger,
    clock: options.clock,
    agentLink: { commandSweepIntervalMs: 100, ...options.agentLink },
  });
  await app.start();
  const url = app.url();
  const login = await api(url, 'POST', '/api/v1/auth/login', {
    body: { username: 'admin', password: ADMIN_PASSWORD },
  });
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status}`);
  return { app, url, adminToken: (login.body as { token: string }).token };
}

/** One REST helper for every control-plane test. */
export { api };

export interface AgentIdentity {
  agentId: string;
  agentSecret: string;
  name: string;
  platform: Platform;
}

/** Create an enrollment token as admin and register a new agent with it. */
export async function registerAgent(
  cp: ControlPlane,
  {
    name = `agent-${randomUUID().slice(0, 8)}`,
    platform = 'docker' as Platform,
    maxSessions = 10,
  } = {},
): Promise<AgentIdentity> {
  const token = await api(cp.url, 'POST', '/api/v1/agents/enrollment-tokens', {
    token: cp.adminToken,
    body: {},
  });
  const registered = await api(cp.url, 'POST', '/api/v1/agents/register', {
    token: (token.body as { token: string }).token,
    body: { name, platform, capacity: { maxSessions } },
  });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status}`);
  const body = registered.body as { agent: { id: string }; agentSecret: string };
  return { agentId: body.agent.id, agentSecret: body.agentSecret, name, platform };
}

/** The agent runtime with a FakeDriver, dialling the control plane with fast back-off. */
export function startFakeAgent(
  url: string,
  identity: AgentIdentity,
  options: { driver?: FakeDriver; stateDir?: string; maxSessions?: number } = {},
): { runtime: AgentRuntime; driver: FakeDriver } {
  const driver = options.driver ?? new FakeDriver(identity.platform);
  const runtime = createAgentRuntime({
    controlPlaneUrl: url,
    agentId: identity.agentId,
    agentSecret: identity.agentSecret,
    driver,
    agentVersion: 'test',
    capacity: { maxSessions: options.maxSessions ?? 10 },
    region: '',
    labels: {},
    clusterInfo: {},
    logger: silentLogger,
    stateDir: options.stateDir,
    reconnect: { baseMs: 20, capMs: 200 },
  });
  void runtime.start();
  return { runtime, driver };
}

/** Insert the rows a command needs as FK targets: a session of the admin on `agentId`. */
export async function insertSession(
  app: App,
  agentId: string | null,
  state: 'pending' | 'starting' | 'running' | 'stopped' = 'starting',
): Promise<string> {
  const admin = await app.db
    .selectFrom('users')
    .select('id')
    .where('username', '=', 'admin')
    .executeTakeFirstOrThrow();
  const row = await app.db
    .insertInto('sessions')
    .values({
      userId: admin.id,
      templateId: 'terminal',
      platform: 'docker',
      agentId,
      state,
      stateReason: 'test',
      homeKey: 'home-admin',
      vncPassword: 'secret-vnc',
      details: '{}',
      idleTimeoutMinutes: null,
      maxDurationMinutes: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export function specFor(sessionId: string, userId = randomUUID()): SessionSpec {
  return testSessionSpec({ sessionId, userId, templateId: 'terminal', homeKey: 'home-admin' });
}

/** A hand-driven agent socket for protocol tests: send raw text, read what comes back. */
export class RawAgentSocket {
  readonly received: ControlPlaneMessage[] = [];
  closeCode: number | undefined;
  closeReason = '';
  httpStatus: number | undefined;
  httpBody = '';
  readonly ws: WebSocket;
  readonly opened: Promise<boolean>;

  constructor(url: string, headers: Record<string, string>) {
    const target = new URL('/api/v1/agents/connect', url);
    target.protocol = 'ws:';
    this.ws = new WebSocket(target, { headers, perMessageDeflate: false });
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      const parsed = parseControlPlaneMessage(String(data));
      if (parsed.ok) this.received.push(parsed.message);
    });
    this.ws.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString('utf8');
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('unexpected-response', (_request, response) => {
        this.httpStatus = response.statusCode;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (this.httpBody += chunk));
        response.on('end', () => {
          this.ws.terminate();
          resolve(false);
        });
      });
      this.ws.once('close', () => resolve(false));
    });
  }

  static forAgent(url: string, identity: { agentId: string; agentSecret: string }) {
    return new RawAgentSocket(url, {
      authorization: `Bearer ${identity.agentSecret}`,
      'x-streamspace-agent-id': identity.agentId,
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  hello(identity: AgentIdentity, overrides: Record<string, unknown> = {}): void {
    this.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentId: identity.agentId,
      platform: identity.platform,
      agentVersion: 'raw-test',
      capacity: { maxSessions: 5 },
      region: '',
      labels: {},
      clusterInfo: {},
      inventory: [],
      ...overrides,
    });
  }

  ofType<T extends ControlPlaneMessage['type']>(type: T) {
    return this.received.filter(
      (message): message is Extract<ControlPlaneMessage, { type: T }> => message.type === type,
    );
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A start_session payload for a session (FK rows from insertSession). */
export function startPayload(sessionId: string): CommandPayload {
  return { type: 'start_session', sessionId, spec: specFor(sessionId) };
}

/** The states of these command rows, in the same order. */
export async function commandStates(app: App, ids: string[]): Promise<string[]> {
  const rows = await app.db
    .selectFrom('agentCommands')
    .select(['id', 'state'])
    .where('id', 'in', ids)
    .execute();
  return ids.map((id) => rows.find((row) => row.id === id)?.state ?? 'missing');
}

export async function waitForCommandStates(
  app: App,
  ids: string[],
  wanted: string,
  what: string,
): Promise<void> {
  await waitFor(what, async () =>
    (await commandStates(app, ids)).every((state) => state === wanted),
  );
}
