import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Platform } from '@streamspace/protocol';
import {
  AGENT_VERSION,
  createAgentRuntime,
  readCredentialsFile,
  writeCredentialsFile,
  type AgentRuntime,
} from '@streamspace/agent-runtime';
import { createAgentStreamMux } from '@streamspace/agent-runtime/streams/agent-stream-mux';
import type { SessionDriver } from '@streamspace/session-driver';
import type { App } from './app';
import type { Config } from './config';

/**
 * The built-in agent that `npm run up` starts beside the control plane, so a new user can
 * launch a desktop with nothing else installed. It is an ordinary agent: it enrolls once
 * (credentials kept in the data directory), then dials this process's own agent hub over
 * loopback with the same protocol as any remote agent.
 */
export async function startEmbeddedAgent(
  app: App,
  config: Config,
  logger: Logger,
): Promise<AgentRuntime | undefined> {
  const platform: Platform | undefined =
    config.embeddedAgent === 'none'
      ? undefined
      : config.embeddedAgent === 'docker'
        ? 'docker'
        : 'local';
  if (platform === undefined) return undefined;
  const log = logger.child({ module: 'embedded-agent', platform });
  const driver = await createEmbeddedDriver(platform, config, log);
  const credentialsFile = join(config.dataDir, `embedded-agent-${platform}.json`);
  let credentials = await readCredentialsFile(credentialsFile);
  if (credentials === null) {
    const admin = await app.db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .orderBy('createdAt')
      .executeTakeFirstOrThrow();
    const { token } = await app.agents.createEnrollmentToken(
      { expiresInMinutes: 5, maxUses: 1 },
      admin.id,
    );
    const name = `${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-builtin-${platform}`.slice(0, 63);
    const registered = await app.agents.register(token, {
      name,
      platform,
      region: 'local',
      labels: { builtin: 'true' },
      capacity: { maxSessions: platform === 'local' ? 8 : 20 },
      clusterInfo: { hostname: hostname() },
      agentVersion: AGENT_VERSION,
    });
    credentials = {
      controlPlaneUrl: app.url(),
      agentId: registered.agent.id,
      agentSecret: registered.agentSecret,
    };
    await writeCredentialsFile(credentialsFile, credentials);
    log.info({ agentId: registered.agent.id, name }, 'built-in agent enrolled');
  }
  const runtime = createAgentRuntime({
    controlPlaneUrl: app.url(),
    agentId: credentials.agentId,
    agentSecret: credentials.agentSecret,
    driver,
    agentVersion: AGENT_VERSION,
    capacity: { maxSessions: platform === 'local' ? 8 : 20 },
    region: 'local',
    labels: { builtin: 'true' },
    clusterInfo: { hostname: hostname() },
    logger: log,
    stateDir: join(config.dataDir, `embedded-agent-${platform}-state`),
    createStreamEndpoint: (link, context) => createAgentStreamMux(link, context),
  });
  await runtime.start();
  return runtime;
}

async function createEmbeddedDriver(
  platform: Platform,
  config: Config,
  logger: Logger,
): Promise<SessionDriver> {
  if (platform === 'docker') {
    const { createDockerDriver } = await import('@streamspace/agent-docker');
    return createDockerDriver({ logger, scope: config.dockerScope });
  }
  const { createLocalDriver } = await import('@streamspace/agent-local');
  return createLocalDriver({ dataDir: join(config.dataDir, 'local-agent'), logger });
}
