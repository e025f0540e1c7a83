import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FrameKind,
  encodeClose,
  encodeCredit,
  encodeFrame,
  encodeOpen,
  encodeStreamError,
} from '@streamspace/protocol';
import { LINK_SLAB_BYTES, createLinkSlabPool } from './link-slab-pool';

const SESSION = '00000000-0000-4000-8000-000000000001';

/** Put link frames into `slab` at `at`, as the reader would have read them; returns the view. */
function place(slab: Buffer, at: number, ...frames: Buffer[]): Buffer {
  const message = Buffer.concat(frames);
  message.copy(slab, at);
  return slab.subarray(at, at + message.length);
}

const data = (streamId: number, bytes: number) =>
  encodeFrame(FrameKind.data, streamId, Buffer.alloc(bytes, streamId));

describe('link slab pool: a slab is written again only once nothing points into it', () => {
  it('a slab that carried no DATA is reused as soon as it is retired', () => {
    const pool = createLinkSlabPool();
    const first = pool.take(0);
    pool.inbound(place(first, 0, encodeCredit(7, 100)));
    pool.retire(first);
    assert.equal(pool.take(0), first);
    assert.equal(pool.stats().reused, 1);
  });

  it('waits until the credit sent for every stream covers its last payload in the slab', () => {
    const pool = createLinkSlabPool();
    const first = pool.take(0);
    pool.inbound(place(first, 0, data(1, 1000), data(2, 500)));
    pool.inbound(place(first, 2000, data(1, 24)));
    pool.retire(first);
    const second = pool.take(0);
    assert.notEqual(second, first);
    pool.outbound(encodeCredit(1, 1000));
    pool.outbound(encodeCredit(2, 500));
    assert.equal(pool.stats().free, 0, 'stream 1 still has 24 bytes unflushed');
    pool.outbound(encodeCredit(1, 24));
    assert.equal(pool.stats().free, 1);
    assert.equal(pool.take(0), first);
  });

  it('counts bytes per stream across slabs and copies, so credit for older bytes frees nothing newer', () => {
    const pool = createLinkSlabPool();
    const first = pool.take(0);
    pool.inbound(place(first, 0, data(1, 4000)));
    // A fragmented message reaches the mux as ws's copy: its bytes count, it pins no slab.
    pool.inbound(Buffer.concat([data(1, 3000)]));
    pool.inbound(place(first, 8000, data(1, 1000)));
    pool.retire(first);
    pool.outbound(encodeCredit(1, 7000));
    assert.equal(pool.stats().free, 0, 'the last 1000 bytes in the slab are not flushed yet');
    pool.outbound(encodeCredit(1, 1000));
    assert.equal(pool.stats().free, 1);
  });

  for (const [what, end] of [
    [
      'the agent closes it',
      (pool: ReturnType<typeof createLinkSlabPool>) => pool.inbound(encodeClose(1, 'bye')),
    ],
    [
      'the agent fails it',
      (pool: ReturnType<typeof createLinkSlabPool>) =>
        pool.inbound(encodeStreamError(1, { code: 'connect_failed', message: 'x' })),
    ],
    [
      'this side closes it',
      (pool: ReturnType<typeof createLinkSlabPool>) =>
        pool.outbound(encodeClose(1, 'viewer closed')),
    ],
    [
      'its id is opened again',
      (pool: ReturnType<typeof createLinkSlabPool>) =>
        pool.outbound(encodeOpen(1, { sessionId: SESSION, port: 5900, credit: 1 })),
    ],
  ] as const) {
    it(`a stream whose credit did not come back before ${what} keeps its slab from reuse`, () => {
      const pool = createLinkSlabPool();
      const first = pool.take(0);
      pool.inbound(place(first, 0, data(1, 1000)));
      end(pool);
      // Credit under the same id now says nothing about the bytes still held for the old stream.
      pool.outbound(encodeCredit(1, 1_000_000));
      pool.retire(first);
      pool.outbound(encodeCredit(1, 1_000_000));
      assert.notEqual(pool.take(0), first);
      assert.equal(pool.stats().reused, 0);
    });
  }

  it('a message that does not decode pins its slab for good', () => {
    const pool = createLinkSlabPool();
    const first = pool.take(0);
    const truncated = data(1, 100).subarray(0, 50);
    pool.inbound(place(first, 0, data(1, 100), truncated));
    pool.retire(first);
    pool.outbound(encodeCredit(1, 1_000_000));
    assert.equal(pool.stats().free, 0);
  });

  it('keeps at most 8 slabs waiting and 2 free; an oversized slab is never pooled', () => {
    const pool = createLinkSlabPool();
    for (let i = 0; i < 12; i++) {
      const slab = pool.take(0);
      pool.inbound(place(slab, 0, data(i + 1, 10)));
      pool.retire(slab);
    }
    assert.equal(pool.stats().waiting, 8);
    for (let i = 0; i < 12; i++) pool.outbound(encodeCredit(i + 1, 10));
    assert.deepEqual(
      { ...pool.stats(), trackedStreams: 0 },
      {
        free: 2,
        waiting: 0,
        reused: 0,
        trackedStreams: 0,
      },
    );
    const big = pool.take(LINK_SLAB_BYTES + 1);
    assert.ok(big.length > LINK_SLAB_BYTES);
    pool.retire(big);
    assert.equal(pool.stats().free, 2);
  });
});
