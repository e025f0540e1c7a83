import type { SessionListScope } from '@streamspace/protocol';
import type { AgentListFilter } from './admin-api';
import type { SessionListFilter } from './sessions-api';

/** React Query cache keys, in one place so live updates and mutations agree on them. */
export const queryKeys = {
  me: ['me'] as const,
  /** A paged session list; the filter is part of the key (live-events.tsx reads it back). */
  sessions: (scope: SessionListScope, filter: SessionListFilter) =>
    ['sessions', scope, filter] as const,
  allSessionLists: ['sessions'] as const,
  session: (id: string) => ['session', id] as const,
  sessionEvents: (id: string) => ['session', id, 'events'] as const,
  platforms: ['platforms'] as const,
  templates: ['templates'] as const,
  /** Every agent list, whatever its filter (for invalidation). */
  agents: ['agents'] as const,
  agentList: (filter: AgentListFilter) => ['agents', filter] as const,
  users: ['users'] as const,
};
