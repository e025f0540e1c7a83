import { pino } from 'pino';
import { REDACT_PATHS } from '@streamspace/protocol';
import { createApp } from './app';
import { loadConfig } from './config';
import { startEmbeddedAgent } from './embedded-agent';

const config = loadConfig();
const logger = pino({
  level: config.logLevel,
  redact: REDACT_PATHS,
});
const app = await createApp({ config, logger });
await app.start();
const embeddedAgent = await startEmbeddedAgent(app, config, logger).catch((error: unknown) => {
  // The control plane stays useful without its built-in agent (remote agents can join).
  logger.error({ err: error }, 'built-in agent failed to start');
  return undefined;
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    Promise.resolve(embeddedAgent?.stop())
      .then(() => app.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  });
}
