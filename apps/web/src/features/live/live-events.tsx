import { Agent, Session, type SessionListScope, type User } from '@streamspace/protocol';
import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { AgentListFilter } from '../../api/admin-api';
import { queryKeys } from '../../api/query-keys';
import type { SessionListFilter } from '../../api/sessions-api';
import { foldIntoPages, type PageFold, type Pages } from './page-cache';

/** Poll this often while the event stream is down (ms). */
export const FALLBACK_POLL_MS = 5_000;
/** A slow safety poll while the stream is up, in case an event was missed (ms). */
export const LIVE_POLL_MS = 30_000;
/** Wait before re-opening a stream the server refused (ms). */
const REOPEN_DELAY_MS = 10_000;

const LiveContext = createContext(false);

/**
 * Subscribes to GET /api/v1/events (server-sent events) while signed in and folds each
 * changed session or agent into the query cache, so every page updates without reloading.
 */
export function LiveEventsProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [live, setLive] = useState(false);

  useEffect(() => {
    let source: EventSource | null = null;
    let reopenTimer: number | undefined;
    let closed = false;

    const open = () => {
      source = new EventSource('/api/v1/events', { withCredentials: true });
      source.addEventListener('open', () => setLive(true));
      source.addEventListener('error', () => {
        setLive(false);
        // CLOSED means the server refused the stream (not just a dropped connection, which
        // EventSource retries by itself); try again later while polling covers the gap.
        if (source?.readyState === EventSource.CLOSED && !closed) {
          reopenTimer = window.setTimeout(open, REOPEN_DELAY_MS);
        }
      });
      source.addEventListener('session', (event) => {
        const parsed = Session.safeParse(parseJson(event));
        if (parsed.success) applySession(queryClient, parsed.data);
      });
      source.addEventListener('agent', (event) => {
        const parsed = Agent.safeParse(parseJson(event));
        if (parsed.success) applyAgent(queryClient, parsed.data);
      });
    };
    open();
    return () => {
      closed = true;
      window.clearTimeout(reopenTimer);
      source?.close();
    };
  }, [queryClient]);

  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

/** True while the event stream is connected. */
export function useLiveUpdates(): boolean {
  return useContext(LiveContext);
}

/** The refetch interval a list should use given the stream's state. */
export function useRefetchInterval(): number {
  return useLiveUpdates() ? LIVE_POLL_MS : FALLBACK_POLL_MS;
}

function parseJson(event: Event): unknown {
  try {
    return JSON.parse((event as MessageEvent<string>).data);
  } catch {
    return null;
  }
}

function applySession(queryClient: QueryClient, session: Session): void {
  queryClient.setQueryData(queryKeys.session(session.id), session);
  void queryClient.invalidateQueries({ queryKey: queryKeys.sessionEvents(session.id) });
  const lists = queryClient.getQueriesData<Pages<Session>>({
    queryKey: queryKeys.allSessionLists,
  });
  // An admin hears of everyone's sessions; their own lists ('own' scope) hold only theirs.
  const me = queryClient.getQueryData<User | null>(queryKeys.me);
  for (const [key, data] of lists) {
    if (!data) continue;
    const scope = key[1] as SessionListScope;
    const filter = (key[2] ?? {}) as SessionListFilter;
    const fold = foldIntoPages(data, session, {
      matches:
        (scope === 'all' || session.userId === me?.id) &&
        (filter.states === undefined || filter.states.includes(session.state)) &&
        (filter.user === undefined || contains(session.username, filter.user)),
      // Newest first, then by id descending (the API's keyset order).
      sortsBefore: (a, b) =>
        a.createdAt === b.createdAt ? a.id > b.id : a.createdAt > b.createdAt,
    });
    applyFold(queryClient, key, fold);
  }
}

function applyAgent(queryClient: QueryClient, agent: Agent): void {
  const lists = queryClient.getQueriesData<Pages<Agent>>({ queryKey: queryKeys.agents });
  for (const [key, data] of lists) {
    if (!data) continue;
    const filter = (key[1] ?? {}) as AgentListFilter;
    const fold = foldIntoPages(data, agent, {
      matches:
        (filter.status === undefined || filter.status === agent.status) &&
        (filter.platform === undefined || filter.platform === agent.platform) &&
        (filter.name === undefined || contains(agent.name, filter.name)),
      sortsBefore: (a, b) => a.name < b.name,
    });
    applyFold(queryClient, key, fold);
  }
  void queryClient.invalidateQueries({ queryKey: queryKeys.platforms });
}

/** The server's name filters: a substring, ignoring case. */
function contains(value: string, text: string): boolean {
  return value.toLowerCase().includes(text.toLowerCase());
}

function applyFold<T>(queryClient: QueryClient, key: QueryKey, fold: PageFold<T>): void {
  if (fold.kind === 'replace') queryClient.setQueryData(key, fold.data);
  else if (fold.kind === 'refetch')
    void queryClient.invalidateQueries({ queryKey: key, exact: true });
}
