import {
  ConnectResponse,
  PlatformsResponse,
  Session,
  SessionEvent,
  SessionPage,
  listOf,
  type CreateSessionRequest,
  type SessionListScope,
  type SessionState,
} from '@streamspace/protocol';
import { apiRequest } from './api-client';

const SessionEventList = listOf(SessionEvent);

/** Which sessions a list shows; no states means every state. */
export interface SessionListFilter {
  states?: readonly SessionState[] | undefined;
  /** Text the owner's username contains, ignoring case. */
  user?: string | undefined;
}

export type SessionAction = 'stop' | 'hibernate' | 'wake' | 'keepalive';

export const sessionsApi = {
  /** One page, newest first; `cursor` is the previous page's nextCursor. */
  page: (scope: SessionListScope, filter: SessionListFilter, cursor: string | undefined) =>
    apiRequest('GET', '/sessions', SessionPage, {
      query: {
        scope: scope === 'all' ? 'all' : undefined,
        state: filter.states?.join(','),
        user: filter.user,
        cursor,
      },
    }),
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
