import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FINISHED_COMMAND_RETENTION_MS } from '../src/scheduler/command-retention';
import { createLifecycleHarness, MINUTE, type LifecycleHarness } from './lifecycle-harness';

describe('finished commands are kept for a week, then purged by the scheduler', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await createLifecycleHarness();
  });
  after(async () => {
    await h.close();
  });

  test('a command finished past retention is deleted; recent and open ones stay', async () => {
    const id = await h.runningSession(); // its start command is completed now
    const [start] = await h.commandsFor(id);
    assert.equal(start?.state, 'completed');
    await h.sessions.stop(h.principal, id, { deleteHome: false, markDeleted: false }); // open
    const s = h.newScheduler();

    h.clock.advance(FINISHED_COMMAND_RETENTION_MS - 10 * MINUTE);
    assert.equal((await s.scheduler.runOnce()).purgedCommands, 0);
    const kept = (await h.commandsFor(id)).map((c) => c.id);
    assert.ok(kept.includes(start.id), 'kept within the retention');

    h.clock.advance(20 * MINUTE);
    assert.equal((await s.scheduler.runOnce()).purgedCommands, 1);
    const left = await h.commandsFor(id);
    assert.ok(!left.some((c) => c.id === start.id), 'the finished start is gone');
    assert.ok(
      left.some((c) => c.type === 'stop_session'),
      'the stop, not finished, stays',
    );
    await s.scheduler.stop();
  });
});
