import type { FastifyInstance } from 'fastify';
import { CreateUserRequest, UpdateUserRequest } from '@streamspace/protocol';
import type { RequestAuth } from '../auth/request-auth';
import { parseIdParam, parseInput } from '../http/parse';
import type { UserService } from './user-service';

export function registerUserRoutes(
  app: FastifyInstance,
  { users, guard }: { users: UserService; guard: RequestAuth },
): void {
  // admin
  app.get('/api/v1/users', async (request) => {
    await guard.requireAdmin(request);
    return { items: await users.list() };
  });

  // admin
  app.post('/api/v1/users', async (request, reply) => {
    await guard.requireAdmin(request);
    return reply.status(201).send(await users.create(parseInput(CreateUserRequest, request.body)));
  });

  // admin
  app.patch('/api/v1/users/:id', async (request) => {
    const admin = await guard.requireAdmin(request);
    const id = parseIdParam(request.params, 'user');
    return users.update(id, parseInput(UpdateUserRequest, request.body), admin.userId);
  });
}
