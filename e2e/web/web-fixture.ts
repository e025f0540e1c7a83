import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './launch-browser';
import { startAgent, type RunningAgent, type StartAgentOptions } from '../support/start-agent';
import { apiLogin, startWebSystem, stopAllSessions, type WebSystem } from './web-system';

/** What a browser test with a real agent starts from. */
export interface WebFixture {
  system: WebSystem;
  browser: TestBrowser;
  /** An admin's bearer token, for set-up calls through the REST API. */
  adminToken: string;
  agent: RunningAgent;
  /** Ends every session (waiting until each has stopped), then the agent, browser and system. */
  stop(): Promise<void>;
}

export interface WebFixtureOptions {
  agent: { platform: 'local' | 'docker' | 'kubernetes'; name: string } & StartAgentOptions;
  /** Set-up through the API before the agent starts (templates, users). */
  prepare?: (system: WebSystem, adminToken: string) => Promise<void>;
  /** Delete the sessions' homes too when stopping (Docker volumes, PVCs). */
  deleteHomes?: boolean;
}

/**
 * A control plane serving the UI (no built-in agent), an admin token, one agent enrolled as
 * an admin would, and Chromium. A failure half-way stops what was already started.
 */
export async function startWebFixture(options: WebFixtureOptions): Promise<WebFixture> {
  const system = await startWebSystem({ embeddedAgent: 'none' });
  let agent: RunningAgent | undefined;
  let browser: TestBrowser | undefined;
  let adminToken: string | undefined;
  const stop = async () => {
    await browser?.close();
    if (adminToken !== undefined) {
      await stopAllSessions(system.apiUrl, adminToken, { deleteHome: options.deleteHomes });
    }
    await agent?.stop();
    await system.stop();
  };
  try {
    adminToken = await apiLogin(system.apiUrl, 'admin', system.adminPassword);
    await options.prepare?.(system, adminToken);
    const { platform, name, ...agentOptions } = options.agent;
    agent = await startAgent(system.apiUrl, adminToken, platform, name, agentOptions);
    browser = await launchBrowser();
    return { system, browser, adminToken, agent, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/**
 * Signs in through the sign-in page and waits for the catalog, as a person would; whoever the
 * browser was signed in as before is forgotten first.
 */
export async function signIn(
  page: Page,
  system: WebSystem,
  username: string,
  password: string,
): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${system.url}/sign-in`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Apps' }).waitFor();
}
