import type { CreateTemplateRequest, Template, UpdateTemplateRequest } from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { TemplateRow } from '../db/schema';
import { ApiError } from '../http/api-error';
import { DEFAULT_TEMPLATES } from './default-templates';

export type TemplateService = ReturnType<typeof createTemplateService>;

export function createTemplateService({ db }: { db: Db }) {
  async function list(includeDisabled: boolean): Promise<Template[]> {
    let query = db.selectFrom('templates').selectAll().orderBy('name');
    if (!includeDisabled) query = query.where('enabled', '=', true);
    return (await query.execute()).map(toTemplate);
  }

  /** A template the caller may see: disabled ones only for admins. */
  async function get(id: string, includeDisabled: boolean): Promise<Template> {
    const row = await db
      .selectFrom('templates')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined || (!row.enabled && !includeDisabled))
      throw new ApiError('not_found', 'template not found');
    return toTemplate(row);
  }

  async function create(request: CreateTemplateRequest): Promise<Template> {
    const row = await db
      .insertInto('templates')
      .values(toRow(request))
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row === undefined)
      throw new ApiError('conflict', `template "${request.id}" already exists`);
    return toTemplate(row);
  }

  async function update(id: string, request: UpdateTemplateRequest): Promise<Template> {
    const current = await get(id, true);
    const next = { ...current, ...request };
    const row = await db
      .updateTable('templates')
      .set({ ...toRow(next), updatedAt: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toTemplate(row);
  }

  /** First start only: an empty catalog gets the defaults. */
  async function seedDefaults(): Promise<void> {
    const existing = await db.selectFrom('templates').select('id').limit(1).executeTakeFirst();
    if (existing !== undefined) return;
    for (const template of DEFAULT_TEMPLATES) {
      await db
        .insertInto('templates')
        .values(toRow(template))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  }

  return { list, get, create, update, seedDefaults };
}

function toRow(template: Template) {
  return {
    id: template.id,
    name: template.name,
    description: template.description,
    icon: template.icon,
    image: template.image,
    app: JSON.stringify(template.app),
    windowManager: template.windowManager,
    resources: JSON.stringify(template.resources),
    idleTimeoutMinutes: template.idleTimeoutMinutes,
    maxDurationMinutes: template.maxDurationMinutes,
    homeIsolation: template.homeIsolation,
    enabled: template.enabled,
  };
}

function toTemplate(row: TemplateRow): Template {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    icon: row.icon,
    image: row.image,
    app: row.app,
    windowManager: row.windowManager,
    resources: row.resources,
    idleTimeoutMinutes: row.idleTimeoutMinutes,
    maxDurationMinutes: row.maxDurationMinutes,
    homeIsolation: row.homeIsolation,
    enabled: row.enabled,
  };
}
