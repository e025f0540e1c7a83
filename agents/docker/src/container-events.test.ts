import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { pino } from 'pino';
import { FakeClock, waitFor } from '@streamspace/test-kit';
import { watchContainerEvents, type ContainerEvent } from './container-events';

/**
 * Restarting the shared dockerd is not allowed in tests, so the stream's end is played by a
 * stand-in for dockerode's getEvents that writes Docker's own event JSON lines.
 */
function fakeDocker() {
  const subscriptions: { options: Record<string, unknown>; stream: PassThrough }[] = [];
  const docker = {
    getEvents: async (options: Record<string, unknown>) => {
      const stream = new PassThrough();
      subscriptions.push({ options, stream });
      return stream;
    },
  } as unknown as Docker;
  return { docker, subscriptions };
}

function eventLine(action: string, id: string, time: number, exitCode?: number): string {
  return `${JSON.stringify({
    status: action,
    id,
    from: 'streamspace/desktop:test',
    Type: 'container',
    Action: action,
    Actor: {
      ID: id,
      Attributes: {
        'io.streamspace.managed': 'true',
        'io.streamspace.session-id': `session-${id}`,
        ...(exitCode === undefined ? {} : { exitCode: String(exitCode) }),
      },
    },
    scope: 'local',
    time,
    timeNano: time * 1e9,
  })}\n`;
}

describe('watchContainerEvents', () => {
  it('parses split lines, re-subscribes with since after the stream ends, and drops replays', async () => {
    const { docker, subscriptions } = fakeDocker();
    const clock = new FakeClock();
    const events: ContainerEvent[] = [];
    const watcher = watchContainerEvents({
      docker,
      labelFilters: ['io.streamspace.managed=true'],
      onEvent: (event) => events.push(event),
      clock,
      logger: pino({ level: 'silent' }),
    });
    await watcher.ready;
    const first = subscriptions[0];
    assert.ok(first);
    assert.deepEqual(first.options.filters, {
      type: ['container'],
      event: ['die', 'oom', 'destroy'],
      label: ['io.streamspace.managed=true'],
    });
    const die = eventLine('die', 'aaa', 1_700_000_000, 137);
    first.stream.write(die.slice(0, 40));
    first.stream.write(die.slice(40) + eventLine('start', 'aaa', 1_700_000_001));
    await waitFor('the die event', () => events.length === 1);
    assert.equal(events[0]?.action, 'die');
    assert.equal(events[0]?.exitCode, 137);
    assert.equal(events[0]?.attributes['io.streamspace.session-id'], 'session-aaa');

    first.stream.destroy();
    await waitFor('a re-subscribe timer', () => clock.pendingTimers === 1);
    clock.advance(1_000);
    await waitFor('the second subscription', () => subscriptions.length === 2);
    const second = subscriptions[1];
    assert.ok(second);
    assert.equal(second.options.since, 1_700_000_000);
    // `since` replays the last second: the same die must not be reported twice.
    second.stream.write(die + eventLine('destroy', 'aaa', 1_700_000_002));
    await waitFor('the destroy event', () => events.length === 2);
    assert.deepEqual(
      events.map((event) => event.action),
      ['die', 'destroy'],
    );

    watcher.close();
    assert.equal(clock.pendingTimers, 0);
    assert.ok(second.stream.destroyed, 'close ends the subscription');
  });
});
