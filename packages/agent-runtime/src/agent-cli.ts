import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { Labels, REDACT_PATHS, type Platform } from '@streamspace/protocol';
import type { SessionDriver } from '@streamspace/session-driver';
import { createAgentStreamMux } from './streams/agent-stream-mux';
import { createAgentRuntime } from './agent-runtime';
import { readCredentialsFile, writeCredentialsFile } from './credentials-file';
import { enrollAgent } from './enroll-agent';

/** Reported in hello and at enrollment. */
export const AGENT_VERSION = '0.1.0';

export interface AgentCliOptions {
  url: string | undefined;
  enrollmentToken: string | undefined;
  credentialsFile: string;
  stateDir: string;
  name: string;
  region: string;
  labels: Labels;
  maxSessions: number;
  logLevel: string;
  /** Every flag as given, for driver-specific ones (e.g. --docker-host). */
  flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

/** What a platform's createDriver receives. */
export interface DriverContext {
  options: AgentCliOptions;
  logger: Logger;
}

/**
 * Flags win over environment variables: --url/STREAMSPACE_URL,
 * --enrollment-token/STREAMSPACE_ENROLLMENT_TOKEN, --credentials-file/
 * STREAMSPACE_CREDENTIALS_FILE (default ./streamspace-agent.json), --state-dir/
 * STREAMSPACE_AGENT_STATE_DIR, --name/STREAMSPACE_AGENT_NAME, --region/STREAMSPACE_REGION,
 * --label k=v (repeatable)/STREAMSPACE_LABELS (k=v,k=v), --max-sessions/
 * STREAMSPACE_MAX_SESSIONS, --log-level/STREAMSPACE_LOG_LEVEL.
 */
export function parseAgentCliOptions(
  platform: Platform,
  argv: string[],
  env: NodeJS.ProcessEnv,
): AgentCliOptions {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: {
      url: { type: 'string' },
      'enrollment-token': { type: 'string' },
      'credentials-file': { type: 'string' },
      'state-dir': { type: 'string' },
      name: { type: 'string' },
      region: { type: 'string' },
      label: { type: 'string', multiple: true },
      'max-sessions': { type: 'string' },
      'log-level': { type: 'string' },
      // Driver flags: declared so that `--flag value` parses as a string, not a boolean.
      'docker-host': { type: 'string' },
      network: { type: 'string' },
      scope: { type: 'string' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'storage-class': { type: 'string' },
      'stream-mode': { type: 'string' },
    },
  });
  const text = (flag: string, variable: string): string | undefined => {
    const value = values[flag];
    return typeof value === 'string' ? value : env[variable];
  };
  const credentialsFile = resolve(
    text('credentials-file', 'STREAMSPACE_CREDENTIALS_FILE') ?? './streamspace-agent.json',
  );
  const labelFlags = Array.isArray(values.label)
    ? values.label.filter((v): v is string => typeof v === 'string')
    : [];
  const labelPairs = labelFlags.length > 0 ? labelFlags : (env.STREAMSPACE_LABELS ?? '').split(',');
  const labels: Record<string, string> = {};
  for (const pair of labelPairs.map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`label "${pair}" is not key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const maxSessions = Number(text('max-sessions', 'STREAMSPACE_MAX_SESSIONS') ?? '10');
  if (!Number.isInteger(maxSessions) || maxSessions < 0)
    throw new Error('--max-sessions must be a whole number');
  return {
    url: text('url', 'STREAMSPACE_URL'),
    enrollmentToken: text('enrollment-token', 'STREAMSPACE_ENROLLMENT_TOKEN'),
    credentialsFile,
    stateDir: resolve(
      text('state-dir', 'STREAMSPACE_AGENT_STATE_DIR') ??
        join(dirname(credentialsFile), 'streamspace-agent-state'),
    ),
    name:
      text('name', 'STREAMSPACE_AGENT_NAME') ??
      `${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-${platform}`.slice(0, 63),
    region: text('region', 'STREAMSPACE_REGION') ?? '',
    labels: Labels.parse(labels),
    maxSessions,
    logLevel: text('log-level', 'STREAMSPACE_LOG_LEVEL') ?? 'info',
    flags: values,
  };
}

/**
 * The entry point of every `streamspace-agent <platform>`: enrolls once when no credentials
 * file exists, then connects and serves until SIGTERM/SIGINT.
 */
export async function runAgentCli(
  platform: Platform,
  createDriver: (context: DriverContext) => Promise<SessionDriver>,
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const options = parseAgentCliOptions(platform, argv, env);
  const logger = pino({ level: options.logLevel, redact: REDACT_PATHS }).child({ platform });
  let credentials = await readCredentialsFile(options.credentialsFile);
  const url = options.url ?? credentials?.controlPlaneUrl;
  if (url === undefined) throw new Error('set --url or STREAMSPACE_URL');
  if (credentials === null) {
    if (options.enrollmentToken === undefined)
      throw new Error(
        `no credentials at ${options.credentialsFile}: pass --enrollment-token once to enroll`,
      );
    const enrolled = await enrollAgent({
      controlPlaneUrl: url,
      enrollmentToken: options.enrollmentToken,
      name: options.name,
      platform,
      region: options.region,
      labels: options.labels,
      capacity: { maxSessions: options.maxSessions },
      agentVersion: AGENT_VERSION,
    });
    credentials = { controlPlaneUrl: url, ...enrolled };
    await writeCredentialsFile(options.credentialsFile, credentials);
    logger.info({ agentId: enrolled.agentId, file: options.credentialsFile }, 'agent enrolled');
  }
  const driver = await createDriver({ options, logger });
  const runtime = createAgentRuntime({
    controlPlaneUrl: url,
    agentId: credentials.agentId,
    agentSecret: credentials.agentSecret,
    driver,
    agentVersion: AGENT_VERSION,
    capacity: { maxSessions: options.maxSessions },
    region: options.region,
    labels: options.labels,
    clusterInfo: { hostname: hostname() },
    logger,
    stateDir: options.stateDir,
    createStreamEndpoint: (link, context) => createAgentStreamMux(link, context),
  });
  await runtime.start();
  // The runtime's timers are unref'd (systemClock). While the link is down and a reconnect
  // is waiting, nothing else may hold the event loop, and Node would exit silently: the
  // agent must outlive a control plane that restarts or dies, so it holds the loop itself.
  const keepAlive = setInterval(() => {}, 60_000);
  await new Promise<void>((done) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'agent stopping');
      void runtime
        .stop()
        .then(() => driver.close())
        .catch((error: unknown) => logger.error({ err: error }, 'agent stop failed'))
        .finally(() => {
          clearInterval(keepAlive);
          done();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

const USAGE = `usage: streamspace-agent <local|docker|kubernetes> --url URL [--enrollment-token TOKEN]
  --credentials-file FILE   where the agent's id and secret are kept (default ./streamspace-agent.json)
  --state-dir DIR           command outcomes and driver state (default beside the credentials)
  --name NAME  --region REGION  --label k=v (repeatable)  --max-sessions N  --log-level LEVEL
Every flag has an environment variable; see docs/agents.md.`;

/**
 * What an agent's main.ts calls: runAgentCli with `--help`, and a one-line error and exit
 * code 1 instead of a stack trace when the agent cannot start (no URL, bad token, …).
 */
export async function runAgentMain(
  platform: Platform,
  createDriver: (context: DriverContext) => Promise<SessionDriver>,
): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    await runAgentCli(platform, createDriver);
  } catch (error) {
    process.stderr.write(
      `streamspace-agent ${platform}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }
}
