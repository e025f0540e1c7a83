import { z } from 'zod';
import { ApiError } from './api-error';

/** Validate an edge input (body, params, query) against a protocol schema or throw 400. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what = 'request body',
): z.infer<T> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    throw new ApiError('validation_failed', `invalid ${what}: ${z.prettifyError(result.error)}`, {
      issues: result.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    });
  }
  return result.data;
}

export const IdParams = z.object({ id: z.uuid() });
export const TemplateIdParams = z.object({ id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/) });

/** Uuid path params that are malformed are reported as not found: the resource cannot exist. */
export function parseIdParam(params: unknown, what: string): string {
  const result = IdParams.safeParse(params);
  if (!result.success) throw new ApiError('not_found', `${what} not found`);
  return result.data.id;
}
