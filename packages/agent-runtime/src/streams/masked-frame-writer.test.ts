import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { waitFor } from '@streamspace/test-kit';
import { WebSocket, WebSocketServer } from 'ws';
import { createMaskedFrameWriter } from './masked-frame-writer';

describe('masked frames written straight to a WebSocket client socket', () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((cleanup) => cleanup()));

  it('a real ws server receives every message intact, whatever the part sizes and offsets', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await once(server, 'listening');
    const received: Buffer[] = [];
    const errors: Error[] = [];
    server.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => received.push(data));
      ws.on('error', (error) => errors.push(error));
    });
    const { port } = server.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    cleanups.push(() => {
      client.terminate();
      server.close();
    });
    await once(client, 'open');
    const writer = createMaskedFrameWriter((client as unknown as { _socket: Socket })._socket);

    // Header sizes 6, 8 and 14 bytes; parts at every offset mod 4; more than one slab (1 MiB)
    // written before the kernel took the first, so slabs rotate and are reused.
    const sizes = [[1], [3, 5, 117], [125], [126], [9, 65_526], [65_535], [65_536], [9, 300_001]];
    for (let round = 0; round < 8; round++) sizes.push([9, 262_144 + round, 13], [2, 1, 1]);
    const expected: Buffer[] = [];
    let seed = 1;
    for (const partSizes of sizes) {
      const parts = partSizes.map((size) => {
        const part = Buffer.alloc(size);
        for (let i = 0; i < size; i++)
          part[i] = (seed = (seed * 1_103_515_245 + 12_345) >>> 0) >>> 24;
        return part;
      });
      const bytes = partSizes.reduce((sum, size) => sum + size, 0);
      writer.write(parts, bytes);
      expected.push(Buffer.concat(parts));
      for (const part of parts) part.fill(0); // the writer must have copied them already
    }
    await waitFor(
      'every message to arrive',
      () => received.length >= expected.length || errors.length > 0,
    );
    assert.deepEqual(errors, []);
    assert.equal(received.length, expected.length);
    received.forEach((message, i) =>
      assert.ok(message.equals(expected[i] as Buffer), `message ${i} differs`),
    );
  });
});
