import { Agent, Session } from '@streamspace/protocol';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { queryKeys } from '../../api/query-keys';

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
  for (const scope of ['own', 'all'] as const) {
    const key = queryKeys.sessions(scope);
    const list = queryClient.getQueryData<Session[]>(key);
    if (!list) continue;
    if (list.some((item) => item.id === session.id)) {
      queryClient.setQueryData<Session[]>(key, (items) =>
        items?.map((item) => (item.id === session.id ? session : item)),
      );
    } else {
      void queryClient.invalidateQueries({ queryKey: key });
    }
  }
}

function applyAgent(queryClient: QueryClient, agent: Agent): void {
  queryClient.setQueryData<Agent[]>(queryKeys.agents, (items) => {
    if (!items) return items;
    return items.some((item) => item.id === agent.id)
      ? items.map((item) => (item.id === agent.id ? agent : item))
      : [...items, agent];
  });
  void queryClient.invalidateQueries({ queryKey: queryKeys.platforms });
}
