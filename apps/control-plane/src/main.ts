import { pino } from 'pino';
import { createApp } from './app';
import { loadConfig } from './config';

const config = loadConfig();
const logger = pino({
  level: config.logLevel,
  redact: ['*.password', '*.token', '*.secret', '*.vncPassword'],
});
const app = await createApp({ config, logger });
await app.start();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
