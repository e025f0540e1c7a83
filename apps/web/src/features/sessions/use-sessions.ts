import type { SessionListScope, Session } from '@streamspace/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../api/query-keys';
import { sessionsApi, type SessionAction, type SessionListFilter } from '../../api/sessions-api';
import { useRefetchInterval } from '../live/live-events';
import { usePagedList } from '../live/use-paged-list';

/**
 * Sessions newest first, a page at a time: `sessions` is every loaded page, `fetchNextPage`
 * loads the next while `hasNextPage`. Live updates fold into the pages (live-events.tsx).
 */
export function useSessionList(scope: SessionListScope, filter: SessionListFilter = {}) {
  const list = usePagedList(queryKeys.sessions(scope, filter), (cursor) =>
    sessionsApi.page(scope, filter, cursor),
  );
  return { ...list, sessions: list.items };
}

export function useSession(id: string, { enabled = true }: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: queryKeys.session(id),
    queryFn: () => sessionsApi.get(id),
    enabled,
    refetchInterval: useRefetchInterval(),
  });
}

export function useSessionEvents(id: string) {
  return useQuery({
    queryKey: queryKeys.sessionEvents(id),
    queryFn: () => sessionsApi.events(id),
    refetchInterval: useRefetchInterval(),
  });
}

type SessionMutation =
  { id: string; action: SessionAction } | { id: string; action: 'delete'; deleteHome: boolean };

/** Stop / hibernate / wake / keep alive / delete, folding the answer into the cache. */
export function useSessionMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: SessionMutation): Promise<Session> =>
      input.action === 'delete'
        ? sessionsApi.remove(input.id, input.deleteHome)
        : sessionsApi.action(input.id, input.action),
    onSuccess: (session) => {
      queryClient.setQueryData(queryKeys.session(session.id), session);
      void queryClient.invalidateQueries({ queryKey: queryKeys.allSessionLists });
      void queryClient.invalidateQueries({ queryKey: queryKeys.sessionEvents(session.id) });
    },
  });
}
