import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createMetrics, registerCollectedGauge } from './metrics';

describe('collected gauges', () => {
  it('query the database at most once every 10 s, however often Prometheus scrapes', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    try {
      const metrics = createMetrics();
      let reads = 0;
      registerCollectedGauge(metrics, 'test_sessions', 'Sessions.', 'state', async () => {
        reads += 1;
        return { running: reads };
      });
      assert.match(await metrics.registry.metrics(), /^test_sessions\{state="running"\} 1$/m);
      mock.timers.tick(9_000);
      assert.match(await metrics.registry.metrics(), /^test_sessions\{state="running"\} 1$/m);
      assert.equal(reads, 1, 'the second scrape reused the first reading');
      mock.timers.tick(1_000);
      assert.match(await metrics.registry.metrics(), /^test_sessions\{state="running"\} 2$/m);
      assert.equal(reads, 2);
    } finally {
      mock.timers.reset();
    }
  });
});
