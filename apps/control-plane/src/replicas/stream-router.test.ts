import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { CloseCode } from '@streamspace/protocol';
import type { MuxStream, StreamPort } from '@streamspace/stream-mux';
import { FakeClock } from '@streamspace/test-kit';
import { ViewerCloseError } from '../vnc-proxy/viewer-port';
import type { ViewerStreamOpener } from '../vnc-proxy/vnc-proxy';
import type { LinkOwner } from './replica-registry';
import { LINK_NOT_HERE } from './replica-stream-server';
import { createStreamRouter, OWNER_REPLICA_EXPIRED } from './stream-router';

const SECRET = 's'.repeat(32);
const AGENT = randomUUID();
const TARGET = { sessionId: randomUUID(), port: 5900 };

/** A stand-in owner replica: it either opens every route or says the link is not there. */
async function startOwner(behaviour: 'opens' | 'not-here') {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  let routes = 0;
  wss.on('connection', (ws) => {
    routes += 1;
    if (behaviour === 'opens') ws.send(JSON.stringify({ type: 'opened' }));
    else ws.close(CloseCode.agentOffline, LINK_NOT_HERE);
  });
  return {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    routes: () => routes,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

const quietPort: StreamPort = {
  write: (_chunk, done) => done(),
  pause() {},
  resume() {},
  terminate() {},
};

function router(
  owners: LinkOwner[],
  { local, routing = true }: { local?: ViewerStreamOpener; routing?: boolean } = {},
) {
  let lookups = 0;
  const streamEndpointFor = createStreamRouter({
    replicaId: 'replica-a',
    secret: routing ? SECRET : undefined,
    registry: {
      ownerOf: () => {
        const owner = owners[Math.min(lookups, owners.length - 1)]!;
        lookups += 1;
        return Promise.resolve(owner);
      },
    },
    localEndpoint: () => local,
    clock: new FakeClock(),
    logger: pino({ level: 'silent' }),
  });
  return { streamEndpointFor, lookups: () => lookups };
}

async function open(endpoint: ViewerStreamOpener | undefined): Promise<MuxStream> {
  assert.ok(endpoint !== undefined, 'a stream endpoint');
  return endpoint.openStream(TARGET, () => quietPort);
}

describe('stream router: where a viewer stream goes', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it("uses this replica's own link without asking the database, and nothing without a secret", async () => {
    const local: ViewerStreamOpener = { openStream: () => Promise.reject(new Error('local')) };
    const withLink = router([{ kind: 'none' }], { local });
    assert.equal(await withLink.streamEndpointFor(AGENT), local);
    assert.equal(withLink.lookups(), 0);
    const single = router([{ kind: 'replica', replicaId: 'replica-b', url: 'http://x' }], {
      routing: false,
    });
    assert.equal(await single.streamEndpointFor(AGENT), undefined, 'routing is off');
    assert.equal(single.lookups(), 0);
  });

  it('refuses with "not responding" when the owner expired, and offline when there is none', async () => {
    const expired = router([{ kind: 'expired', replicaId: 'replica-b' }]);
    await assert.rejects(open(await expired.streamEndpointFor(AGENT)), (error: unknown) => {
      assert.ok(error instanceof ViewerCloseError);
      assert.equal(error.closeCode, CloseCode.agentOffline);
      assert.equal(error.reason, OWNER_REPLICA_EXPIRED);
      return true;
    });
    assert.equal(await router([{ kind: 'none' }]).streamEndpointFor(AGENT), undefined);
  });

  it('follows a link that moved between the lookup and the route, once', async () => {
    const moved = await startOwner('not-here');
    const current = await startOwner('opens');
    closers.push(moved.close, current.close);
    const routing = router([
      { kind: 'replica', replicaId: 'replica-b', url: moved.url },
      { kind: 'replica', replicaId: 'replica-c', url: current.url },
    ]);
    const stream = await open(await routing.streamEndpointFor(AGENT));
    assert.equal(moved.routes(), 1);
    assert.equal(current.routes(), 1, 'opened through the replica that holds the link now');
    stream.end('done');

    // The database still names the replica that says no: its answer is passed on.
    const stale = router([{ kind: 'replica', replicaId: 'replica-b', url: moved.url }]);
    await assert.rejects(open(await stale.streamEndpointFor(AGENT)), (error: unknown) => {
      assert.ok(error instanceof ViewerCloseError);
      assert.equal(error.reason, LINK_NOT_HERE);
      return true;
    });
    assert.equal(stale.lookups(), 2, 'looked once more, then gave up');
  });
});
