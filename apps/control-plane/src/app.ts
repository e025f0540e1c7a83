import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { CloseCode, systemClock, type Clock } from '@streamspace/protocol';
import { registerAgentRoutes } from './agents/agent-routes';
import { createAgentService, type AgentService } from './agents/agent-service';
import type { RetryPolicy } from './commands/command-backoff';
import { createCommandQueue, type CommandQueue } from './commands/command-queue';
import { createAgentHub, isAgentConnectPath, type AgentHub } from './hub/agent-hub';
import { createAuthService } from './auth/auth-service';
import { registerAuthRoutes } from './auth/auth-routes';
import { createRequestAuth } from './auth/request-auth';
import type { Config } from './config';
import { createDb, type Db } from './db/database';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded-postgres';
import { migrateToLatest } from './db/migrations';
import { registerHealthRoutes } from './http/health-routes';
import { createHttpServer } from './http/http-server';
import { DEFAULT_WEB_DIST, registerWebUi } from './http/web-ui';
import { createMetrics, registerCollectedGauge } from './metrics/metrics';
import { createTemplateService } from './templates/template-service';
import { registerTemplateRoutes } from './templates/template-routes';
import { createUserService, ensureAdminUser } from './users/user-service';
import { registerUserRoutes } from './users/user-routes';
import { createControlPlaneStreamMux } from './vnc-proxy/control-plane-stream-mux';
import { registerVncConnectRoutes } from './vnc-proxy/vnc-connect-routes';
import { createVncMetrics } from './vnc-proxy/vnc-metrics';
import { createVncProxy, isVncPath, type VncProxy } from './vnc-proxy/vnc-proxy';
import { refuseUnknownUpgrades } from './http/unknown-upgrades';
import { createVncTickets } from './vnc-proxy/vnc-tickets';
import { checkAgentCapacity, selectAgent } from './agents/agent-selector';
import { createChangeFeed, type ChangeFeed } from './events/change-feed';
import { registerEventStreamRoutes } from './events/event-stream-routes';
import { wireLifecycleScheduler } from './scheduler/lifecycle-wiring';
import { recordSessionEvent } from './sessions/session-transitions';
import { createSessionAgentEvents } from './sessions/session-agent-events';
import { registerSessionRoutes } from './sessions/session-routes';
import { createSessionService, type SessionService } from './sessions/session-service';
import { createSessionViews } from './sessions/session-view';
import { isReplicaStreamPath } from './replicas/replica-stream-protocol';
import { wireReplicas } from './replicas/replica-wiring';

export interface AppDeps {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Agent link timings, for tests; production uses the defaults and config. */
  agentLink?: {
    commandSweepIntervalMs?: number;
    commandRetry?: RetryPolicy;
    helloTimeoutMs?: number;
  };
}

export interface App {
  http: FastifyInstance;
  db: Db;
  agents: AgentService;
  hub: AgentHub;
  commands: CommandQueue;
  vnc: VncProxy;
  sessions: SessionService;
  /** The URL the control plane listens on, once started. */
  url(): string;
  start(): Promise<void>;
  /** Graceful: stop accepting, close agent and viewer sockets, drain requests, close the DB. */
  stop(): Promise<void>;
}

/** The one place modules are wired together (CONVENTIONS.md layout). */
export async function createApp({
  config,
  logger,
  clock = systemClock,
  agentLink = {},
}: AppDeps): Promise<App> {
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    embedded = await startEmbeddedDatabase(
      config.dataDir,
      config.embeddedPostgresPort,
      logger.child({ module: 'db' }),
    );
    databaseUrl = embedded.url;
  }
  const { db, pool } = createDb(databaseUrl);
  const applied = await migrateToLatest(db);
  logger.info({ applied }, 'database migrations applied');
  await ensureAdminUser(db, config.adminPassword, logger);

  const metrics = createMetrics();
  const http = await createHttpServer({
    trustProxy: config.trustProxy,
    logger,
    observeRequest: (route, method, status, seconds) =>
      metrics.httpDuration.observe({ route, method, status: String(status) }, seconds),
  });

  const auth = createAuthService({ db, clock });
  const guard = createRequestAuth(auth);
  const users = createUserService({ db });
  const templates = createTemplateService({ db });
  await templates.seedDefaults();
  const secureCookie = (protocol: string) =>
    config.secureCookies === 'auto' ? protocol === 'https' : config.secureCookies === 'true';

  registerHealthRoutes(http, { db, metrics, guard, metricsToken: config.metricsToken });
  registerAuthRoutes(http, { auth, guard, secureCookie });
  registerUserRoutes(http, { users, guard });
  registerTemplateRoutes(http, { templates, guard });

  const vncMetrics = createVncMetrics(metrics.registry);
  const agents = createAgentService({ db, clock, heartbeatTimeoutMs: config.heartbeatTimeoutMs });
  const hub = createAgentHub({
    db,
    clock,
    logger,
    metrics,
    replicaId: config.replicaId,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    helloTimeoutMs: agentLink.helloTimeoutMs,
    createStreamEndpoint: (link, context) =>
      createControlPlaneStreamMux(link, { ...context, clock, hooks: vncMetrics.streamHooks }),
  });
  const commands = createCommandQueue({
    db,
    databaseUrl,
    hub,
    clock,
    logger,
    metrics,
    defaultDeadlineMs: config.commandDeadlineMs,
    sweepIntervalMs: agentLink.commandSweepIntervalMs,
    retry: agentLink.commandRetry,
  });
  registerAgentRoutes(http, {
    db,
    agents,
    guard,
    // Bound late: the session views are built further down, with the VNC proxy's viewer counts.
    sessionsOfAgent: (agentId, query) => views.page({ agentId }, query),
    // Bound late like sessionsOfAgent: the sessions module is wired further down.
    beforeAgentDeleted: (agentId, actor) => agentEvents.onAgentDeleted(agentId, actor),
    onAgentDeleted: async (agentId) => {
      hub.disconnect(agentId, CloseCode.agentDeleted, 'the agent was deleted by an admin');
      // The replica holding its link may be another one: it hears this and closes it too.
      feed.publish({ kind: 'agent', id: agentId });
      // Its open commands lost their agent: expire them now rather than at their deadline.
      await commands.sweep();
    },
  });
  hub.attach(http.server);
  const feed: ChangeFeed = await createChangeFeed({ databaseUrl, pool, logger });
  const changed = (sessionId: string) => feed.publish({ kind: 'session', id: sessionId });
  const vncTickets = createVncTickets({ db, clock });
  registerVncConnectRoutes(http, { db, guard, tickets: vncTickets });
  // Several replicas (docs/architecture.md): a viewer whose agent link another replica holds
  // is routed through that replica; sessions show the viewers of every replica.
  const replicas = wireReplicas(http.server, {
    db,
    clock,
    logger,
    config,
    registry: metrics.registry,
    localEndpoint: (agentId) => hub.streamEndpoint(agentId),
    // Bound late: the VNC proxy is built just below.
    localViewerCount: (sessionId) => vnc.viewerCount(sessionId),
  });
  // Viewer hooks reach the sessions module, which is built after the proxy (it shows viewer counts).
  const viewerEvents = {
    record: async (
      sessionId: string,
      userId: string,
      kind: 'viewer_connected' | 'viewer_disconnected',
      reason: string,
    ) => {
      const user = await db
        .selectFrom('users')
        .select('username')
        .where('id', '=', userId)
        .executeTakeFirst();
      await recordSessionEvent(db, {
        sessionId,
        kind,
        actor: `user:${user?.username ?? userId}`,
        reason,
      });
      // Written before the change is announced, so every replica's view of it counts it.
      await replicas.recordViewers(sessionId);
      changed(sessionId);
    },
    touch: (_sessionId: string): Promise<void> => Promise.resolve(),
  };
  const vnc = createVncProxy({
    onViewerConnected: (sessionId, userId) =>
      viewerEvents.record(sessionId, userId, 'viewer_connected', 'viewer connected'),
    onViewerDisconnected: (sessionId, userId, reason) =>
      viewerEvents.record(
        sessionId,
        userId,
        'viewer_disconnected',
        `viewer disconnected: ${reason}`,
      ),
    onViewerInput: (sessionId) => viewerEvents.touch(sessionId),
    db,
    clock,
    logger,
    tickets: vncTickets,
    allowedOrigins: config.allowedOrigins,
    streamEndpointFor: replicas.streamEndpointFor,
    metrics: vncMetrics,
  });
  vnc.attach(http.server);
  refuseUnknownUpgrades(
    http.server,
    (url) => isAgentConnectPath(url) || isVncPath(url) || isReplicaStreamPath(url),
  );

  // Sessions: the state machine driven by users, command outcomes and agent reports.
  const views = createSessionViews({
    db,
    viewerCount: (sessionId) => vnc.viewerCount(sessionId),
    remoteViewerCounts: replicas.remoteViewerCounts,
    defaultIdleMinutes: config.defaultIdleMinutes,
    defaultMaxDurationMinutes: config.defaultMaxDurationMinutes,
  });
  const sessions: SessionService = createSessionService({
    db,
    clock,
    logger,
    views,
    commands,
    changed,
    pickAgent: (criteria, executor) =>
      selectAgent(
        executor ?? db,
        { now: () => clock.now(), heartbeatTimeoutMs: config.heartbeatTimeoutMs },
        criteria,
      ),
    checkCapacity: (agentId, trx) => checkAgentCapacity(trx, agentId),
  });
  registerCollectedGauge(
    metrics,
    'streamspace_sessions',
    'Sessions by state (not deleted).',
    'state',
    async () => {
      const rows = await db
        .selectFrom('sessions')
        .select(['state', (eb) => eb.fn.countAll<string>().as('count')])
        .where('deletedAt', 'is', null)
        .groupBy('state')
        .execute();
      return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
    },
  );
  const agentEvents = createSessionAgentEvents({ db, logger, changed, commands });
  const agentActor = async (agentId: string | null) => {
    if (agentId === null) return 'system';
    const row = await db
      .selectFrom('agents')
      .select('name')
      .where('id', '=', agentId)
      .executeTakeFirst();
    return `agent:${row?.name ?? agentId}`;
  };
  commands.onOutcome(async ({ command, result }) =>
    agentEvents.onCommandFinished(command, result, await agentActor(command.agentId)),
  );
  hub.onSessionReport(async (agentId, observation) =>
    agentEvents.onSessionReport(agentId, await agentActor(agentId), observation),
  );
  hub.onAgentHello(async (agentId, hello) =>
    agentEvents.onInventory(agentId, await agentActor(agentId), hello.inventory),
  );
  for (const listen of [hub.onAgentHello, hub.onAgentOffline]) {
    listen((agentId: string) => feed.publish({ kind: 'agent', id: agentId }));
  }
  viewerEvents.touch = (sessionId) => sessions.touch(sessionId);
  // An agent deleted through another replica loses the link this one holds.
  feed.subscribe((change) => {
    if (change.kind !== 'agent' || !hub.isConnected(change.id)) return;
    void db
      .selectFrom('agents')
      .select('id')
      .where('id', '=', change.id)
      .executeTakeFirst()
      .then((row) => {
        if (row !== undefined) return;
        hub.disconnect(change.id, CloseCode.agentDeleted, 'the agent was deleted by an admin');
      })
      .catch((error: Error) =>
        logger.warn({ err: error.message }, 'closing a deleted agent failed'),
      );
  });
  // Viewers of a session that stops running hear why at once (close 4011 with the state),
  // rather than when the VNC server's socket goes away.
  feed.subscribe((change) => {
    if (change.kind !== 'session' || vnc.viewerCount(change.id) === 0) return;
    void db
      .selectFrom('sessions')
      .select('state')
      .where('id', '=', change.id)
      .executeTakeFirst()
      .then((row) => {
        if (row !== undefined && row.state !== 'running') {
          vnc.closeViewers(change.id, CloseCode.sessionNotRunning, `the session is ${row.state}`);
        }
      })
      .catch((error: Error) => logger.warn({ err: error.message }, 'closing viewers failed'));
  });
  registerSessionRoutes(http, { sessions, guard });
  registerEventStreamRoutes(http, {
    guard,
    feed,
    loadSession: async (sessionId) =>
      (await views.byId(sessionId, { includeDeleted: false })) ?? null,
    loadAgent: (agentId) => agents.get(agentId).catch(() => null),
  });
  const lifecycle = wireLifecycleScheduler(http, {
    db,
    clock,
    logger,
    config,
    metrics,
    guard,
    commands,
    changed,
    hibernate: (sessionId, actor, reason) =>
      sessions.moveAndSend(sessionId, 'hibernating', actor, reason),
    hub,
  });
  await registerWebUi(http, config.webDist ?? DEFAULT_WEB_DIST, logger);

  let listeningUrl = '';
  return {
    http,
    db,
    agents,
    hub,
    commands,
    vnc,
    sessions,
    url: () => listeningUrl,
    async start() {
      await http.listen({ port: config.port, host: config.host });
      const address = http.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      listeningUrl = `http://127.0.0.1:${port}`;
      // Without STREAMSPACE_REPLICA_URL only replicas on this host can reach this one.
      await replicas.start(listeningUrl);
      commands.start();
      lifecycle.start();
      logger.info({ port }, 'control plane listening');
    },
    async stop() {
      await lifecycle.stop();
      replicas.closeRoutes();
      await vnc.close();
      await hub.close();
      await replicas.stop();
      await commands.stop();
      await http.close();
      await feed.close();
      await db.destroy();
      await embedded?.stop();
      logger.info('control plane stopped');
    },
  };
}
