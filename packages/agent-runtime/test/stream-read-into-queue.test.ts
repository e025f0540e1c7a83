import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import {
  DEFAULT_STREAM_WINDOW_BYTES,
  FrameKind,
  decodeFrames,
  encodeClose,
  encodeCredit,
  encodeOpen,
  type BinaryLink,
  type StreamFrame,
} from '@streamspace/protocol';
import { waitFor } from '@streamspace/test-kit';
import {
  createStreamMux,
  type MuxStream,
  type StreamEnd,
  type StreamMux,
  type StreamPort,
} from '@streamspace/stream-mux';
import { duplexPort } from '../src/streams/duplex-port';
import { createMuxPair, startTcpServer } from './stream-link-pair';

// The agent's session sockets read straight into their stream's send queue
// (MuxStream.readTarget/commitRead). Here the control plane's side is played by hand over a
// link that records every frame, so credit is granted byte-exactly.

const SESSION = '00000000-0000-4000-8000-000000000001';
const WINDOW = DEFAULT_STREAM_WINDOW_BYTES;
const PAUSE_AT = WINDOW / 2;
const RESUME_AT = WINDOW / 4;
/** Most one read into the queue may bring (READ_TARGET_BYTES in stream-mux.ts). */
const READ_BYTES = 128 * 1024;

/** Test bytes: a stream that repeats with a period unrelated to every buffer size. */
const PERIOD = 1_000_003;
const pattern = Buffer.alloc(PERIOD * 2);
for (let i = 0; i < pattern.length; i++) {
  const j = i % PERIOD;
  pattern[i] = (j * 131 + (j >>> 9)) & 0xff;
}
function patternBytes(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let at = 0; at < length; at += PERIOD)
    pattern.copy(out, at, 0, Math.min(PERIOD, length - at));
  return out;
}

/** A session that writes `data` in pieces of varying size, with backpressure, then ends. */
function writeInPieces(socket: Socket, data: Buffer): void {
  let at = 0;
  let piece = 1;
  const pump = () => {
    while (at < data.length) {
      piece = (piece * 7919 + 13) % (96 * 1024);
      const end = Math.min(data.length, at + 1 + piece);
      const more = socket.write(data.subarray(at, end));
      at = end;
      if (!more) return;
    }
    socket.end();
  };
  socket.on('drain', pump);
  pump();
}

interface Agent {
  mux: StreamMux;
  frames: StreamFrame[];
  /** Per stream: the agent's session socket, its mux handle and how its bytes came in. */
  streams: Map<number, { socket: Socket; handle: MuxStream; pushed: number; committed: number }>;
  /** Grant `bytes` of credit back whenever DATA arrives on these streams (a fast viewer). */
  autoCredit: Set<number>;
  open(streamId: number, port: number, credit: number): Promise<void>;
  credit(streamId: number, bytes: number): void;
  data(streamId: number): Buffer;
  closeIndex(streamId: number): number;
}

/** The agent's mux with real TCP session sockets, on a link the test plays the other end of. */
function createAgent(): Agent {
  const frames: StreamFrame[] = [];
  const autoCredit = new Set<number>();
  const streams: Agent['streams'] = new Map();
  const link: BinaryLink = {
    send(message) {
      for (const frame of decodeFrames(Buffer.from(message))) {
        frames.push(frame);
        if (frame.kind === FrameKind.data && autoCredit.has(frame.streamId)) {
          setImmediate(() => mux.handleBinary(encodeCredit(frame.streamId, frame.payload.length)));
        }
      }
    },
    bufferedBytes: () => 0,
    onWritable: () => {},
  };
  const mux = createStreamMux({
    link,
    role: 'acceptor',
    logger: pino({ level: 'silent' }),
    onOpenRequest: (request) => {
      const socket = connect({ host: '127.0.0.1', port: request.target.port });
      socket.once('connect', () => {
        // The port sees the handle through a spy that counts how bytes were queued.
        request.accept((handle) => {
          const entry = { socket, handle, pushed: 0, committed: 0 };
          streams.set(handle.id, entry);
          return duplexPort(socket)({
            ...handle,
            push: (chunk) => {
              entry.pushed += chunk.length;
              handle.push(chunk);
            },
            commitRead: (bytes) => {
              entry.committed += bytes;
              handle.commitRead?.(bytes);
            },
          });
        });
      });
    },
  });
  return {
    mux,
    frames,
    streams,
    autoCredit,
    async open(streamId, port, credit) {
      mux.handleBinary(encodeOpen(streamId, { sessionId: SESSION, port, credit }));
      await waitFor('the session socket to be attached', () => streams.has(streamId));
    },
    credit: (streamId, bytes) => mux.handleBinary(encodeCredit(streamId, bytes)),
    data: (streamId) =>
      Buffer.concat(
        frames
          .filter((f) => f.kind === FrameKind.data && f.streamId === streamId)
          .map((f) => f.payload),
      ),
    closeIndex: (streamId) =>
      frames.findIndex((f) => f.kind === FrameKind.close && f.streamId === streamId),
  };
}

/** Let pending reads, flushes and callbacks run (a handful of event-loop turns). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('session sockets read straight into their stream queue', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('keeps 16 MiB in order across thousands of reads, without the push copy', async () => {
    const total = 16 * 1024 * 1024 + 13;
    const sent = patternBytes(total);
    const session = await startTcpServer((socket) => writeInPieces(socket, sent));
    cleanups.push(session.close);
    const agent = createAgent();
    cleanups.push(() => agent.mux.closeAll('test over'));
    agent.autoCredit.add(1);
    await agent.open(1, session.port, WINDOW);

    await waitFor('the CLOSE after the last byte', () => agent.closeIndex(1) >= 0, {
      timeoutMs: 30_000,
    });
    const received = agent.data(1);
    assert.equal(received.length, total);
    assert.ok(received.equals(sent), 'bytes arrived out of order or changed');
    const entry = agent.streams.get(1);
    assert.ok(entry !== undefined);
    // Only what Node had read before the switch is pushed (copied); the rest was read into
    // the queue, in many reads.
    assert.equal(entry.pushed + entry.committed, total);
    assert.ok(entry.committed >= total - 64 * 1024, `only ${entry.committed} bytes read in place`);
    assert.ok(agent.mux.stats().peakQueuedBytes <= WINDOW);
  });

  it('pauses the session socket when credit runs out and resumes it exactly at a quarter window', async () => {
    const total = 4 * 1024 * 1024;
    const sent = patternBytes(total);
    const session = await startTcpServer((socket) => writeInPieces(socket, sent));
    cleanups.push(session.close);
    const agent = createAgent();
    cleanups.push(() => agent.mux.closeAll('test over'));
    await agent.open(1, session.port, 100_000);
    const entry = agent.streams.get(1);
    assert.ok(entry !== undefined);

    await waitFor('the credit to be used up', () => agent.data(1).length === 100_000);
    await waitFor('the session socket to be paused', () => entry.socket.isPaused());
    await settle();
    // Exactly the credit was sent. The socket paused once half a window was queued (part of
    // it may have gone out with the credit since), at most one read beyond that.
    assert.equal(agent.data(1).length, 100_000);
    const queued = entry.handle.queuedBytes();
    const read = queued + 100_000;
    assert.ok(read >= PAUSE_AT && queued <= PAUSE_AT + READ_BYTES, `queued ${queued}`);
    assert.ok(queued > RESUME_AT, `queued ${queued}`);
    assert.ok(agent.mux.stats().peakQueuedBytes <= PAUSE_AT + READ_BYTES);
    assert.ok(agent.mux.stats().peakQueuedBytes <= WINDOW);

    // Credit that leaves one byte above the resume point: the socket stays paused.
    const readBefore = entry.committed + entry.pushed;
    agent.credit(1, queued - RESUME_AT - 1);
    await waitFor(
      'the granted bytes to go out',
      () => entry.handle.queuedBytes() === RESUME_AT + 1,
    );
    await settle();
    assert.ok(entry.socket.isPaused());
    assert.equal(entry.committed + entry.pushed, readBefore, 'read while paused');

    // One more byte of credit reaches the resume point: reads start again.
    agent.credit(1, 1);
    await waitFor('reads to resume', () => entry.committed + entry.pushed > readBefore);

    agent.autoCredit.add(1);
    agent.credit(1, WINDOW);
    await waitFor('the rest and the CLOSE', () => agent.closeIndex(1) >= 0, { timeoutMs: 30_000 });
    assert.ok(agent.data(1).equals(sent), 'bytes arrived out of order or changed');
  });

  it('sends bytes read before the session ended, then the CLOSE, as credit comes', async () => {
    const sent = patternBytes(120_000);
    const session = await startTcpServer((socket) => socket.end(sent));
    cleanups.push(session.close);
    const agent = createAgent();
    cleanups.push(() => agent.mux.closeAll('test over'));
    await agent.open(1, session.port, 50_000);
    const entry = agent.streams.get(1);
    assert.ok(entry !== undefined);

    await waitFor('the session socket to end', () => entry.socket.readableEnded);
    await settle();
    // The stream is closing with 70,000 bytes queued and no credit for them.
    assert.equal(agent.data(1).length, 50_000);
    assert.equal(agent.closeIndex(1), -1, 'CLOSE overtook queued bytes');
    assert.equal(entry.handle.queuedBytes(), 70_000);

    agent.credit(1, 30_000);
    await waitFor('part of the rest', () => agent.data(1).length === 80_000);
    assert.equal(agent.closeIndex(1), -1);
    agent.credit(1, 40_000);
    await waitFor('the CLOSE', () => agent.closeIndex(1) >= 0);
    const lastData = agent.frames.findLastIndex(
      (f) => f.kind === FrameKind.data && f.streamId === 1,
    );
    assert.ok(lastData < agent.closeIndex(1));
    assert.ok(agent.data(1).equals(sent));
    assert.equal(
      Buffer.from(agent.frames[agent.closeIndex(1)]!.payload).toString(),
      'end of stream',
    );
  });

  it('drops a stream closed by the peer with bytes queued and a read pending, and keeps the others intact', async () => {
    const flood = Buffer.alloc(64 * 1024, 0xaa);
    const floodSockets: Socket[] = [];
    const flooding = await startTcpServer((socket) => {
      floodSockets.push(socket);
      const pump = () => {
        while (socket.write(flood));
      };
      socket.on('drain', pump);
      pump();
    });
    cleanups.push(flooding.close);
    const sent = patternBytes(8 * 1024 * 1024);
    const bulk = await startTcpServer((socket) => writeInPieces(socket, sent));
    cleanups.push(bulk.close);
    const agent = createAgent();
    cleanups.push(() => agent.mux.closeAll('test over'));

    await agent.open(1, flooding.port, 50_000);
    const flooded = agent.streams.get(1);
    assert.ok(flooded !== undefined);
    await waitFor('the flooded stream to be paused', () => flooded.socket.isPaused());
    // Paused at half a window of bytes read, 50,000 of which went out with the credit.
    assert.ok(flooded.handle.queuedBytes() >= PAUSE_AT - 50_000);

    // The peer closes it while its queue is full and its socket holds a read region in it.
    agent.mux.handleBinary(encodeClose(1, 'viewer left'));
    assert.equal(flooded.handle.queuedBytes(), 0);
    await waitFor('the flooded session socket to be released', () =>
      flooded.socket.destroyed ? true : undefined,
    );
    await waitFor('the flood server to see it go', () => floodSockets[0]?.destroyed);

    agent.autoCredit.add(2);
    await agent.open(2, bulk.port, WINDOW);
    await waitFor('the other stream to finish', () => agent.closeIndex(2) >= 0, {
      timeoutMs: 30_000,
    });
    assert.ok(agent.data(2).equals(sent), 'the other stream lost or changed bytes');
    // Nothing of the closed stream went out past its credit, and it sent no CLOSE of its own.
    assert.equal(agent.data(1).length, 50_000);
    assert.equal(agent.closeIndex(1), -1);
    assert.equal(agent.mux.stats().openStreams, 0);
  });
});

describe('session bytes read into the queue, over a real masked WebSocket link', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A control-plane-side port that keeps everything it gets (copied: the chunk is lent). */
  function keepingPort() {
    const state = { chunks: [] as Buffer[], ended: undefined as StreamEnd | undefined };
    const attach = (): StreamPort => ({
      write(chunk, onFlushed) {
        state.chunks.push(Buffer.from(chunk));
        onFlushed();
      },
      pause() {},
      resume() {},
      terminate(end) {
        state.ended = end;
      },
    });
    return { state, attach, bytes: () => Buffer.concat(state.chunks) };
  }

  it('a stream closed while its bytes wait in unsent slabs leaves the other stream intact', async () => {
    const floodSockets: Socket[] = [];
    const flooding = await startTcpServer((socket) => {
      floodSockets.push(socket);
      let at = 0;
      const pump = () => {
        for (;;) {
          const more = socket.write(pattern.subarray(at % PERIOD, (at % PERIOD) + 65_537));
          at += 65_537;
          if (!more) return;
        }
      };
      socket.on('drain', pump);
      pump();
    });
    cleanups.push(flooding.close);
    const sent = patternBytes(48 * 1024 * 1024);
    const bulk = await startTcpServer((socket) => writeInPieces(socket, sent));
    cleanups.push(bulk.close);
    // Windows far larger than the kernel's socket buffers, so the agent's link backs up into
    // its slabs while the control plane is not reading.
    const pair = await createMuxPair({ windowBytes: 32 * 1024 * 1024 });
    cleanups.push(pair.close);

    const a = keepingPort();
    const aStream = await pair.opener.open({ sessionId: SESSION, port: flooding.port }, a.attach);
    const b = keepingPort();
    await pair.opener.open({ sessionId: SESSION, port: bulk.port }, b.attach);
    const controlPlaneSide = (pair.openerSocket as unknown as { _socket: Socket })._socket;
    controlPlaneSide.pause();
    await waitFor(
      'the agent link to back up into slabs not yet written to the kernel',
      () => pair.agentSocket.bufferedAmount > 0,
    );

    // The viewer of A leaves; the agent drops A while A's bytes sit in those slabs.
    aStream.end('viewer left');
    await waitFor('the agent to release the flooded session', () => floodSockets[0]?.destroyed);
    controlPlaneSide.resume();

    await waitFor('the other stream to finish', () => b.state.ended, { timeoutMs: 60_000 });
    assert.deepEqual(b.state.ended, { kind: 'peer_closed', reason: 'end of stream' });
    assert.ok(b.bytes().equals(sent), 'the other stream lost or changed bytes');
    // What A's viewer got before it left is exactly the start of what its session sent.
    const aBytes = a.bytes();
    assert.ok(aBytes.length > 0);
    assert.ok(aBytes.equals(patternBytes(aBytes.length)), 'the closed stream got foreign bytes');
    assert.equal(pair.opener.stats().protocolErrors, 0);
    assert.equal(pair.acceptor.stats().protocolErrors, 0);
    assert.equal(pair.acceptor.stats().openStreams, 0);
  });
});
