import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode } from '@streamspace/protocol';
import type { StreamEnd } from '@streamspace/stream-mux';
import { FakeClock, waitFor } from '@streamspace/test-kit';
import { OWNER_REPLICA_LOST, ViewerCloseError } from '../vnc-proxy/viewer-port';
import {
  createRemoteStreamOpener,
  OWNER_REPLICA_UNREACHABLE,
  ROUTE_CONNECT_TIMEOUT_MS,
} from './remote-stream-opener';

const PING_MS = 1_000;

/**
 * A stand-in owner replica speaking the route protocol: it answers every route with
 * `opened`, and after each ping it receives sends one byte (so the caller's pong, which
 * travels first on the same socket, is known to have arrived when that byte does).
 */
async function startOwner(options: { answerPings: boolean }) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: options.answerPings });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.send(JSON.stringify({ type: 'opened' }));
    ws.on('ping', () => ws.send(Buffer.from([1])));
  });
  return {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    sockets,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

function openRoute(url: string, clock: FakeClock) {
  const opener = createRemoteStreamOpener({
    replicaId: 'replica-a',
    owner: { replicaId: 'replica-b', url },
    secret: 'x'.repeat(32),
    agentId: randomUUID(),
    clock,
    logger: pino({ level: 'silent' }),
    pingIntervalMs: PING_MS,
  });
  let received = 0;
  const ends: StreamEnd[] = [];
  const opened = opener.openStream({ sessionId: randomUUID(), port: 5900 }, () => ({
    write(chunk, onFlushed) {
      received += chunk.length;
      onFlushed();
    },
    pause() {},
    resume() {},
    terminate: (end) => ends.push(end),
  }));
  return { opened, ends, received: () => received };
}

describe('a route to the owner replica', () => {
  const owners: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const owner of owners) await owner.close();
  });

  it('stays open while the owner answers pings', async () => {
    const owner = await startOwner({ answerPings: true });
    owners.push(owner);
    const clock = new FakeClock();
    const route = openRoute(owner.url, clock);
    const stream = await route.opened;
    for (let round = 1; round <= 4; round += 1) {
      clock.advance(PING_MS);
      await waitFor(`pong ${round} to be back`, () => route.received() === round);
    }
    assert.deepEqual(route.ends, [], 'nothing ended the route');
    stream.end('viewer closed');
  });

  it('is ended as "owner went away" when the owner stops answering', async () => {
    const owner = await startOwner({ answerPings: false });
    owners.push(owner);
    const clock = new FakeClock();
    const route = openRoute(owner.url, clock);
    await route.opened;
    for (let round = 1; round <= 2; round += 1) {
      clock.advance(PING_MS);
      // The owner got the ping and left it unanswered (its byte arrives, no pong).
      await waitFor(`ping ${round} to reach the owner`, () => route.received() === round);
    }
    assert.deepEqual(route.ends, [], 'one unanswered ping is not enough');
    clock.advance(PING_MS);
    await waitFor('the route to end', () => route.ends.length > 0);
    assert.deepEqual(route.ends, [{ kind: 'link_closed', reason: OWNER_REPLICA_LOST }]);
  });

  it("passes on the owner's refusal before the stream opened", async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    owners.push({ close: () => new Promise<void>((resolve) => wss.close(() => resolve())) });
    wss.on('connection', (ws) =>
      ws.close(CloseCode.streamFailed, 'stream failed: session_not_found'),
    );
    const route = openRoute(
      `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      new FakeClock(),
    );
    const error = await route.opened.then(
      () => assert.fail('the route opened'),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof ViewerCloseError);
    assert.equal(error.closeCode, CloseCode.streamFailed);
    assert.equal(error.reason, 'stream failed: session_not_found');
  });

  it('gives up on an owner that never answers the upgrade, and says it is unreachable', async () => {
    // A host that takes the connection and then says nothing (a hung or vanished replica).
    const silent: Socket[] = [];
    const server = createServer((socket) => silent.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    owners.push({
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of silent) socket.destroy();
          server.close(() => resolve());
        }),
    });
    const startedAt = Date.now();
    const route = openRoute(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      new FakeClock(),
    );
    const error = await route.opened.then(
      () => assert.fail('the route opened'),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof ViewerCloseError);
    assert.equal(error.closeCode, CloseCode.agentOffline);
    assert.equal(error.reason, OWNER_REPLICA_UNREACHABLE);
    assert.ok(
      Date.now() - startedAt < ROUTE_CONNECT_TIMEOUT_MS + 3_000,
      'told within the connect timeout',
    );
  });
});
