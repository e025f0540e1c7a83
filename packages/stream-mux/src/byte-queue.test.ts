import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteQueue } from './byte-queue';

/** Deterministic pseudo-random numbers (xorshift32), so a failure can be replayed. */
function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}

/** The test stream repeats with a period unrelated to the ring's sizes. */
const PERIOD = 1_000_003;
const pattern = Buffer.alloc(PERIOD + 256 * 1024);
for (let i = 0; i < pattern.length; i++) {
  const j = i % PERIOD;
  pattern[i] = (j * 131 + (j >>> 9)) & 0xff;
}
/** `length` (≤ 256 KiB) bytes of the test stream from `offset`. */
const expected = (offset: number, length: number) =>
  pattern.subarray(offset % PERIOD, (offset % PERIOD) + length);

describe('ByteQueue', () => {
  it('keeps bytes in order through pushes, reads into its tail and takes that wrap the ring', () => {
    const next = random(0x5eed);
    const queue = new ByteQueue();
    let written = 0;
    let read = 0;
    for (let step = 0; step < 4_000; step++) {
      if (next(2) === 0 && queue.length < 192 * 1024) {
        // A source reading straight into the tail: fills part of the region it was given.
        const region = queue.reserveTail(64 * 1024);
        assert.ok(region.length > 0 && region.length <= 64 * 1024);
        const bytes = 1 + next(region.length);
        expected(written, bytes).copy(region);
        queue.commitTail(bytes);
        written += bytes;
      } else {
        const views = queue.take(1 + next(96 * 1024));
        for (const view of views) {
          assert.ok(view.equals(expected(read, view.length)), `bytes from ${read}`);
          read += view.length;
        }
      }
      assert.equal(queue.length, written - read);
    }
    assert.ok(written > 10 * 1024 * 1024, `only ${written} bytes went through`);
  });

  it('keeps pushed bytes in order when the ring wraps and grows', () => {
    const next = random(42);
    const queue = new ByteQueue();
    let written = 0;
    let read = 0;
    for (let step = 0; step < 2_000; step++) {
      if (next(2) === 0) {
        const chunk = Buffer.from(expected(written, 1 + next(100 * 1024)));
        queue.push(chunk);
        written += chunk.length;
      } else {
        for (const view of queue.take(1 + next(128 * 1024))) {
          assert.ok(view.equals(expected(read, view.length)), `bytes from ${read}`);
          read += view.length;
        }
      }
    }
    assert.equal(queue.length, written - read);
  });

  it('never moves, reuses or hands out a reserved region while it is reserved', () => {
    const queue = new ByteQueue();
    const first = queue.reserveTail(64 * 1024);
    first.fill(1);
    queue.commitTail(first.length);
    const region = queue.reserveTail(64 * 1024);
    // Everything queued is taken (the scheduler sends it) while the reader still holds the
    // region; a late read then lands in it and must come out next, whole and in place.
    const taken = queue.take(first.length);
    assert.equal(taken.length, 1);
    assert.equal(queue.length, 0);
    assert.throws(() => queue.push(Buffer.from('x')), /reserved/);
    region.fill(2, 0, 1000);
    queue.commitTail(1000);
    const [late] = queue.take(1000);
    assert.ok(late !== undefined && late.equals(Buffer.alloc(1000, 2)));
    assert.equal(late.buffer, region.buffer, 'the bytes were not copied');
    assert.throws(() => {
      queue.reserveTail(10);
      queue.commitTail(11);
    }, RangeError);
  });

  it('bounds its memory by what is queued plus one region', () => {
    // What the mux expects with its default window: half a window plus two reads.
    const queue = new ByteQueue(384 * 1024);
    let peakRegion = 0;
    for (let round = 0; round < 1_000; round++) {
      // Reads until 128 KiB are queued, as the mux's pause at half a window allows.
      while (queue.length < 128 * 1024) {
        const region = queue.reserveTail(128 * 1024);
        peakRegion = Math.max(peakRegion, region.length);
        queue.commitTail(Math.min(region.length, 100_000 + round));
      }
      queue.take(100_000 + round);
    }
    const staging = queue.reserveTail(128 * 1024).buffer.byteLength;
    assert.ok(staging <= 384 * 1024, `staging grew to ${staging} bytes`);
    assert.equal(peakRegion, 128 * 1024);
    queue.clear();
    assert.equal(queue.length, 0);
    queue.push(Buffer.from('after clear'));
    assert.equal(Buffer.concat(queue.take(100)).toString(), 'after clear');
  });
});
