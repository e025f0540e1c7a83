import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { errorBody } from './http-server';

/** apps/web/dist, relative to this file in the source tree. */
export const DEFAULT_WEB_DIST = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../web/dist',
);

/**
 * Serve the built web UI on the API's port. Paths that are not files fall back to
 * index.html so the UI's client-side routes load directly; /api and /vnc never do.
 */
export async function registerWebUi(
  app: FastifyInstance,
  dist: string,
  logger: Logger,
): Promise<void> {
  const built = existsSync(join(dist, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, { root: dist, wildcard: false, index: ['index.html'] });
  } else {
    logger.warn(
      { dist },
      'web UI not built; run `npm run build -w @streamspace/web` (scripts/up does)',
    );
  }
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const uiRoute = !path.startsWith('/api/') && !path.startsWith('/vnc/') && path !== '/metrics';
    if (built && request.method === 'GET' && uiRoute) {
      return reply.sendFile('index.html');
    }
    return reply.status(404).send(errorBody('not_found', `no route ${request.method} ${path}`));
  });
}
