import type { SessionListScope } from '@streamspace/protocol';
/** React Query cache keys, in one place so live updates and mutations agree on them. */
export const queryKeys = {
  me: ['me'] as const,
  sessions: (scope: SessionListScope) => ['sessions', scope] as const,
  allSessionLists: ['sessions'] as const,
  session: (id: string) => ['session', id] as const,
  sessionEvents: (id: string) => ['session', id, 'events'] as const,
  platforms: ['platforms'] as const,
  templates: ['templates'] as const,
  agents: ['agents'] as const,
  users: ['users'] as const,
};
