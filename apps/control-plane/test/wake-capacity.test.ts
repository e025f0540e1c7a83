import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLifecycleHarness, type LifecycleHarness } from './lifecycle-harness';

// A hibernated session released its slot; waking takes one again on the same agent (its home
// is there). On a full agent the wake is refused and the session stays hibernated.
describe('waking a session on an agent that filled up meanwhile', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await createLifecycleHarness();
    await h.db
      .updateTable('agents')
      .set({ capacity: JSON.stringify({ maxSessions: 2 }) })
      .where('id', '=', h.agentId)
      .execute();
  });
  after(() => h?.close());

  async function finish(sessionId: string, type: string): Promise<void> {
    const command = (await h.commandsFor(sessionId)).find(
      (c) => c.type === type && c.state === 'pending',
    );
    assert.ok(command, `a pending ${type} for the session`);
    await h.completeCommand(command);
  }

  it('is refused with the reason while the agent is full, and works once a slot is free', async () => {
    const sleeper = await h.runningSession();
    await h.sessions.hibernate(h.principal, sleeper);
    await finish(sleeper, 'hibernate_session');
    assert.equal((await h.stateOf(sleeper)).state, 'hibernated');
    await h.runningSession();
    const third = await h.runningSession(); // the agent now runs 2 of 2

    await assert.rejects(h.sessions.wake(h.principal, sleeper), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'no_agent_available');
      assert.match(error.message, /agent "docker-1" is at capacity \(2 of 2 sessions\)/);
      return true;
    });
    assert.equal((await h.stateOf(sleeper)).state, 'hibernated', 'still hibernated');
    const wakes = (await h.commandsFor(sleeper)).filter((c) => c.type === 'wake_session');
    assert.equal(wakes.length, 0, 'no wake was queued');

    await h.sessions.stop(h.principal, third, { deleteHome: false, markDeleted: false });
    await finish(third, 'stop_session');
    const woken = await h.sessions.wake(h.principal, sleeper);
    assert.equal(woken.state, 'waking');
    assert.equal((await h.commandsFor(sleeper)).filter((c) => c.type === 'wake_session').length, 1);
  });
});
