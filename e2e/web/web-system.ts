import { NOT_STOPPED_SESSION_STATES } from '@streamspace/protocol';
import { waitFor } from '@streamspace/test-kit';
import { apiCall } from '../support/api-call';
import { startSystem, type StartSystemOptions } from '../support/start-system';
import { buildWebUi, webOrigin } from './web-build';

export interface WebSystem {
  /** Origin the browser opens: serves the UI and proxies (or is) the API. */
  url: string;
  /** The control plane itself, for API calls made by the test. */
  apiUrl: string;
  adminPassword: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The lead's e2e/support/start-system.ts control plane (fresh database, free port) serving
 * the UI built from this tree, so the browser sees one origin as in production.
 */
export async function startWebSystem(options: StartSystemOptions = {}): Promise<WebSystem> {
  const web = await buildWebUi();
  const system = await startSystem({
    ...options,
    env: { STREAMSPACE_WEB_DIST: web.outDir, ...options.env },
  }).catch(async (error: unknown) => {
    await web.remove();
    throw error;
  });
  const origin = await webOrigin(system.baseUrl, web.outDir);
  return {
    url: origin.url,
    apiUrl: system.baseUrl,
    adminPassword: system.adminPassword,
    output: () => system.controlPlane.output(),
    async stop() {
      await origin.close();
      await system.close();
      await web.remove();
    },
  };
}

/** Signs in through the REST API and returns the bearer token, for test set-up calls. */
export async function apiLogin(apiUrl: string, username: string, password: string) {
  const response = await fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/**
 * Deletes every session and waits until each one is really stopped (deleted sessions leave
 * the list at once but keep stopping), so no Xvnc or container outlives the test.
 */
export async function stopAllSessions(
  apiUrl: string,
  token: string,
  { deleteHome = false }: { deleteHome?: boolean } = {},
): Promise<void> {
  const live: { id: string }[] = [];
  // Every page of the sessions not stopped yet (the list is paged: docs/api.md).
  const states = NOT_STOPPED_SESSION_STATES.join(',');
  let cursor: string | null = null;
  do {
    const query = `scope=all&limit=500&state=${states}${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await apiCall(apiUrl, token, 'GET', `/sessions?${query}`)) as {
      items: { id: string }[];
      nextCursor: string | null;
    };
    live.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  for (const session of live) {
    await apiCall(apiUrl, token, 'DELETE', `/sessions/${session.id}?deleteHome=${deleteHome}`);
  }
  for (const session of live) {
    await waitFor(
      `session ${session.id} to stop`,
      async () => {
        const state = (
          (await apiCall(apiUrl, token, 'GET', `/sessions/${session.id}`)) as {
            state: string;
          }
        ).state;
        return state === 'stopped' || state === 'failed';
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }
}
