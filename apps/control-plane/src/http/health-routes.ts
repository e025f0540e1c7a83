import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { HealthResponse } from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { Metrics } from '../metrics/metrics';

export function registerHealthRoutes(
  app: FastifyInstance,
  { db, metrics }: { db: Db; metrics: Metrics },
): void {
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

  // anyone: Prometheus text format. Counts only, no user data.
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
