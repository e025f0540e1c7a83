import {
  Agent,
  AgentPage,
  CreateEnrollmentTokenResponse,
  CreateTemplateRequest,
  Template,
  User,
  listOf,
  type AgentStatus,
  type CreateEnrollmentTokenRequest,
  type Platform,
  type CreateUserRequest,
  type UpdateAgentRequest,
  type UpdateTemplateRequest,
  type UpdateUserRequest,
} from '@streamspace/protocol';
import type { z } from 'zod';
import { apiRequest } from './api-client';

const TemplateList = listOf(Template);
const UserList = listOf(User);
const id = (value: string) => encodeURIComponent(value);

/** Which agents the admin list shows; an absent field means any. */
export interface AgentListFilter {
  status?: AgentStatus | undefined;
  platform?: Platform | undefined;
  /** Text the name contains, ignoring case. */
  name?: string | undefined;
}

export const agentsApi = {
  /** One page by name; `cursor` is the previous page's nextCursor. */
  page: (filter: AgentListFilter, cursor: string | undefined) =>
    apiRequest('GET', '/agents', AgentPage, {
      query: { status: filter.status, platform: filter.platform, name: filter.name, cursor },
    }),
  update: (agentId: string, body: UpdateAgentRequest) =>
    apiRequest('PUT', `/agents/${id(agentId)}`, Agent, { body }),
  remove: (agentId: string) => apiRequest('DELETE', `/agents/${id(agentId)}`, null),
  createEnrollmentToken: (body: Partial<CreateEnrollmentTokenRequest>) =>
    apiRequest('POST', '/agents/enrollment-tokens', CreateEnrollmentTokenResponse, { body }),
};

export const templatesApi = {
  list: async () => (await apiRequest('GET', '/templates', TemplateList)).items,
  create: (body: z.input<typeof CreateTemplateRequest>) =>
    apiRequest('POST', '/templates', Template, { body }),
  update: (templateId: string, body: UpdateTemplateRequest) =>
    apiRequest('PATCH', `/templates/${id(templateId)}`, Template, { body }),
};

export const usersApi = {
  list: async () => (await apiRequest('GET', '/users', UserList)).items,
  create: (body: CreateUserRequest) => apiRequest('POST', '/users', User, { body }),
  update: (userId: string, body: UpdateUserRequest) =>
    apiRequest('PATCH', `/users/${id(userId)}`, User, { body }),
};
