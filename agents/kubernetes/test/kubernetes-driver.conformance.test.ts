import { runDriverConformance } from '@streamspace/session-driver/conformance';
import { createKubeTestEnv } from './kube-test-env';

runDriverConformance(
  'kubernetes (real pods behind the test API server)',
  async () => {
    const env = await createKubeTestEnv();
    return {
      driver: env.driver,
      makeSpec: env.makeSpec,
      missingImageSpec: () => env.makeSpec({ image: 'streamspace/no-such-image:conformance' }),
      writeHomeFile: env.writeHomeFile,
      readHomeFile: env.readHomeFile,
      killSession: env.killSession,
      cleanup: env.cleanup,
    };
  },
  { startTimeoutMs: 30_000, failureTimeoutMs: 10_000, changeTimeoutMs: 10_000 },
);
