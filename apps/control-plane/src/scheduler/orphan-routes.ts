import type { FastifyInstance } from 'fastify';
import type { RequestAuth } from '../auth/request-auth';
import type { OrphanReconciler } from './orphan-reconciler';

export function registerOrphanRoutes(
  app: FastifyInstance,
  { orphans, guard }: { orphans: Pick<OrphanReconciler, 'list'>; guard: RequestAuth },
): void {
  // admin: sessions agents run that the database does not know (docs/lifecycle.md, "Orphans")
  app.get('/api/v1/orphans', async (request) => {
    await guard.requireAdmin(request);
    return { items: await orphans.list() };
  });
}
