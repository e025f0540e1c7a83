import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { HealthResponse } from '@streamspace/protocol';
import { hashSecret, secretMatchesHash } from '../auth/secrets';
import { credentialOf, type RequestAuth } from '../auth/request-auth';
import type { Db } from '../db/database';
import type { Metrics } from '../metrics/metrics';

export interface HealthRouteDeps {
  db: Db;
  metrics: Metrics;
  guard: RequestAuth;
  /** STREAMSPACE_METRICS_TOKEN: a bearer token that may read /metrics only. */
  metricsToken: string | undefined;
}

export function registerHealthRoutes(
  app: FastifyInstance,
  { db, metrics, guard, metricsToken }: HealthRouteDeps,
): void {
  const metricsTokenHash = metricsToken === undefined ? undefined : hashSecret(metricsToken);

  // anyone: liveness, no dependencies checked
  app.get('/api/v1/health', async (): Promise<HealthResponse> => ({
    status: 'ok',
    checks: { process: 'ok' },
  }));

  // anyone: readiness, the database must answer within 2 s
  app.get('/api/v1/ready', async (_request, reply) => {
    try {
      await Promise.race([
        sql`SELECT 1`.execute(db),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      return { status: 'ok', checks: { database: 'ok' } } satisfies HealthResponse;
    } catch {
      return reply.status(503).send({
        status: 'unavailable',
        checks: { database: 'unreachable' },
      } satisfies HealthResponse);
    }
  });

  // admin or the metrics token: Prometheus text format. Counts only, no user data, but each
  // scrape queries the database, so strangers may not trigger it.
  app.get('/metrics', async (request, reply) => {
    const credential = credentialOf(request);
    const scraper =
      metricsTokenHash !== undefined &&
      credential !== undefined &&
      secretMatchesHash(credential, metricsTokenHash);
    if (!scraper) await guard.requireAdmin(request);
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
