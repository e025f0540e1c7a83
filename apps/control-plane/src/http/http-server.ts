import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import type { Logger } from 'pino';
import type { ErrorBody } from '@streamspace/protocol';
import { ApiError } from './api-error';

/** Largest REST body accepted, in bytes; larger ones get 413 payload_too_large. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface HttpServerDeps {
  logger: Logger;
  /**
   * Whose X-Forwarded-For/-Proto to believe (STREAMSPACE_TRUST_PROXY): nobody by default, so a
   * client cannot claim https or another address; true for every peer, or proxy addresses/CIDRs.
   */
  trustProxy?: boolean | string[];
  /** Observes every request's duration (seconds) for /metrics. */
  observeRequest?: (route: string, method: string, status: number, seconds: number) => void;
}

/** Fastify with the one error handler that turns every failure into `{ error: { code } }`. */
export async function createHttpServer({
  logger,
  observeRequest,
  trustProxy = false,
}: HttpServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request access logs are Fastify's at info; keep only warnings and errors from it.
    loggerInstance: logger.child({ module: 'http' }, { level: 'warn' }),
    bodyLimit: MAX_BODY_BYTES,
    trustProxy,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  await app.register(cookie);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    observeRequest?.(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) {
      request.log.warn(
        { route, method: request.method, status: reply.statusCode },
        'request failed',
      );
    }
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.status(error.status).send(errorBody(error.code, error.message, error.details));
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply
        .status(413)
        .send(errorBody('payload_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`));
    }
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply
        .status(415)
        .send(errorBody('bad_request', 'send JSON (Content-Type: application/json)'));
    }
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode < 500) {
      const message =
        fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
        fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
        error instanceof SyntaxError
          ? 'request body is not valid JSON'
          : fastifyError.message;
      return reply.status(fastifyError.statusCode).send(errorBody('bad_request', message));
    }
    request.log.error({ err: error, route: request.routeOptions.url }, 'unhandled error');
    return reply.status(500).send(errorBody('internal', 'internal error'));
  });

  return app;
}

export function errorBody(
  code: ErrorBody['error']['code'],
  message: string,
  details?: unknown,
): ErrorBody {
  return details === undefined
    ? { error: { code, message } }
    : { error: { code, message, details } };
}
