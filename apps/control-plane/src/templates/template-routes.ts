import type { FastifyInstance } from 'fastify';
import { CreateTemplateRequest, UpdateTemplateRequest } from '@streamspace/protocol';
import { isAdmin } from '../auth/principal';
import type { RequestAuth } from '../auth/request-auth';
import { parseInput, TemplateIdParams } from '../http/parse';
import type { TemplateService } from './template-service';

export function registerTemplateRoutes(
  app: FastifyInstance,
  { templates, guard }: { templates: TemplateService; guard: RequestAuth },
): void {
  // signed in: users see enabled templates, admins all
  app.get('/api/v1/templates', async (request) => {
    const principal = await guard.requireUser(request);
    return { items: await templates.list(isAdmin(principal)) };
  });

  // signed in
  app.get('/api/v1/templates/:id', async (request) => {
    const principal = await guard.requireUser(request);
    const { id } = parseInput(TemplateIdParams, request.params, 'template id');
    return templates.get(id, isAdmin(principal));
  });

  // admin
  app.post('/api/v1/templates', async (request, reply) => {
    await guard.requireAdmin(request);
    return reply
      .status(201)
      .send(await templates.create(parseInput(CreateTemplateRequest, request.body)));
  });

  // admin
  app.patch('/api/v1/templates/:id', async (request) => {
    await guard.requireAdmin(request);
    const { id } = parseInput(TemplateIdParams, request.params, 'template id');
    return templates.update(id, parseInput(UpdateTemplateRequest, request.body));
  });
}
