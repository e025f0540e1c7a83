import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { waitFor } from '@streamspace/test-kit';
import { readIntoReusedBuffer } from './reused-read-buffer';

/** A connected pair of TCP sockets on loopback: [server side, client side]. */
async function tcpPair(): Promise<{ server: Socket; client: Socket; close(): void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port });
  await once(client, 'connect');
  const [server] = await accepted;
  return {
    server,
    client,
    close() {
      server.destroy();
      client.destroy();
      listener.close();
    },
  };
}

describe('reading a connected TCP socket into one reused buffer', () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((cleanup) => cleanup()));

  it('delivers bytes read before and after the switch in order, pauses, resumes and ends', async () => {
    const pair = await tcpPair();
    cleanups.push(pair.close);
    const early = Buffer.from('RFB 003.008\n');
    pair.server.write(early);
    await waitFor('the early bytes to be read by Node', () => pair.client.readableLength > 0);

    const received: Buffer[] = [];
    const views = new Set<ArrayBufferLike>();
    const switched = readIntoReusedBuffer(pair.client, (chunk) => {
      views.add(chunk.buffer);
      received.push(Buffer.from(chunk)); // the view is only valid during the call
    });
    assert.equal(switched, true);
    const ended = once(pair.client, 'end');

    const bulk = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < bulk.length; i++) bulk[i] = (i * 31 + 7) & 0xff;
    pair.server.write(bulk);
    await waitFor('the first MiB to arrive', () => total(received) > 1024 * 1024);

    pair.client.pause();
    const atPause = total(received);
    // Paused means the handle stopped reading: nothing more arrives over a few event-loop
    // turns (a read already in flight may still land, at most one buffer's worth).
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(total(received) - atPause <= 64 * 1024, 'paused socket kept delivering');

    pair.client.resume();
    pair.server.end();
    await ended;
    assert.deepEqual(Buffer.concat(received), Buffer.concat([early, bulk]));
    // Every read after the switch reused the same memory (the early bytes were Node's own).
    assert.ok(views.size <= 2, `reads used ${views.size} different buffers`);
  });

  it('leaves a Duplex that is not a TCP socket to the caller', () => {
    assert.equal(
      readIntoReusedBuffer(new PassThrough(), () => {}),
      false,
    );
  });
});

function total(chunks: Buffer[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.length, 0);
}
