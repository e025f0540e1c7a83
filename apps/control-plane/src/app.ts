import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '@streamspace/protocol';
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
import { createMetrics } from './metrics/metrics';
import { createTemplateService } from './templates/template-service';
import { registerTemplateRoutes } from './templates/template-routes';
import { createUserService, ensureAdminUser } from './users/user-service';
import { registerUserRoutes } from './users/user-routes';

export interface AppDeps {
  config: Config;
  logger: Logger;
  clock?: Clock;
}

export interface App {
  http: FastifyInstance;
  db: Db;
  /** The URL the control plane listens on, once started. */
  url(): string;
  start(): Promise<void>;
  /** Graceful: stop accepting, close agent and viewer sockets, drain requests, close the DB. */
  stop(): Promise<void>;
}

/** The one place modules are wired together (CONVENTIONS.md layout). */
export async function createApp({ config, logger, clock = systemClock }: AppDeps): Promise<App> {
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
  const { db } = createDb(databaseUrl);
  const applied = await migrateToLatest(db as never);
  logger.info({ applied }, 'database migrations applied');
  await ensureAdminUser(db, config.adminPassword, logger);

  const metrics = createMetrics();
  const http = await createHttpServer({
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

  registerHealthRoutes(http, { db, metrics });
  registerAuthRoutes(http, { auth, guard, secureCookie });
  registerUserRoutes(http, { users, guard });
  registerTemplateRoutes(http, { templates, guard });
  await registerWebUi(http, config.webDist ?? DEFAULT_WEB_DIST, logger);

  let listeningUrl = '';
  return {
    http,
    db,
    url: () => listeningUrl,
    async start() {
      await http.listen({ port: config.port, host: config.host });
      const address = http.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      listeningUrl = `http://127.0.0.1:${port}`;
      logger.info({ port }, 'control plane listening');
    },
    async stop() {
      await http.close();
      await db.destroy();
      await embedded?.stop();
    },
  };
}
