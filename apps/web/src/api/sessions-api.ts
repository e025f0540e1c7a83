import {
  ConnectResponse,
  PlatformsResponse,
  Session,
  SessionEvent,
  listOf,
  type CreateSessionRequest,
  type SessionListScope,
} from '@streamspace/protocol';
import { apiRequest } from './api-client';

const SessionList = listOf(Session);
const SessionEventList = listOf(SessionEvent);

export type SessionAction = 'stop' | 'hibernate' | 'wake' | 'keepalive';

export const sessionsApi = {
  list: async (scope: SessionListScope) =>
    (
      await apiRequest('GET', '/sessions', SessionList, {
        query: { scope: scope === 'all' ? 'all' : undefined },
      })
    ).items,
  get: (id: string) => apiRequest('GET', `/sessions/${encodeURIComponent(id)}`, Session),
  create: (body: CreateSessionRequest) => apiRequest('POST', '/sessions', Session, { body }),
  action: (id: string, action: SessionAction) =>
    apiRequest('POST', `/sessions/${encodeURIComponent(id)}/${action}`, Session),
  remove: (id: string, deleteHome: boolean) =>
    apiRequest('DELETE', `/sessions/${encodeURIComponent(id)}`, Session, {
      query: { deleteHome: deleteHome ? 'true' : 'false' },
    }),
  events: async (id: string) =>
    (await apiRequest('GET', `/sessions/${encodeURIComponent(id)}/events`, SessionEventList)).items,
  connect: (id: string) =>
    apiRequest('POST', `/sessions/${encodeURIComponent(id)}/connect`, ConnectResponse),
  platforms: async () => (await apiRequest('GET', '/platforms', PlatformsResponse)).platforms,
};
