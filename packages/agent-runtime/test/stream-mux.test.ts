import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_STREAM_WINDOW_BYTES,
  FrameKind,
  decodeFrames,
  decodeStreamErrorPayload,
  encodeFrame,
} from '@streamspace/protocol';
import { DriverError } from '@streamspace/session-driver';
import { FakeClock, waitFor } from '@streamspace/test-kit';
import {
  type StreamEnd,
  type StreamPort,
  type MuxStream,
  StreamOpenError,
  openMuxDuplex,
} from '@streamspace/stream-mux';
import { createMuxPair, startTcpServer } from './stream-link-pair';

const SESSION = '00000000-0000-4000-8000-000000000001';
const WINDOW = DEFAULT_STREAM_WINDOW_BYTES;

/** A control-plane-side local end that records what arrives; `stalled` holds credit back. */
function recordingPort(options: { stalled?: boolean } = {}) {
  const state = {
    bytes: 0,
    hash: createHash('sha256'),
    chunks: [] as Buffer[],
    keep: false,
    ended: undefined as StreamEnd | undefined,
    stalled: options.stalled ?? false,
    held: [] as (() => void)[],
    stream: undefined as MuxStream | undefined,
  };
  const attach = (stream: MuxStream): StreamPort => {
    state.stream = stream;
    return {
      write(chunk, onFlushed) {
        state.bytes += chunk.length;
        state.hash.update(chunk);
        if (state.keep) state.chunks.push(chunk);
        if (state.stalled) state.held.push(onFlushed);
        else onFlushed();
      },
      pause() {},
      resume() {},
      terminate(end) {
        state.ended = end;
      },
    };
  };
  return { state, attach };
}

/** Push `total` bytes through `stream` in 64 KiB pieces, respecting its queue bound. */
async function pushAll(stream: MuxStream, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    while (stream.queuedBytes() >= WINDOW / 2) await new Promise((r) => setImmediate(r));
    stream.push(data.subarray(offset, offset + 64 * 1024));
  }
}

describe('stream mux over a real WebSocket link', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('carries 64 MiB both ways through an echo server without a byte out of place', async () => {
    const echo = await startTcpServer((socket) => socket.pipe(socket));
    cleanups.push(echo.close);
    const pair = await createMuxPair();
    cleanups.push(pair.close);

    const data = randomBytes(64 * 1024 * 1024);
    const expected = createHash('sha256').update(data).digest('hex');
    const port = recordingPort();
    const stream = await pair.opener.open({ sessionId: SESSION, port: echo.port }, port.attach);
    await pushAll(stream, data);
    await waitFor('all bytes echoed back', () => port.state.bytes === data.length, {
      timeoutMs: 60_000,
    });
    assert.equal(port.state.hash.digest('hex'), expected);
    assert.ok(
      pair.opener.stats().peakQueuedBytes <= WINDOW,
      'CP send queue stayed within the window',
    );
    assert.ok(
      pair.acceptor.stats().peakQueuedBytes <= WINDOW,
      'agent send queue stayed within the window',
    );
    assert.equal(pair.opener.stats().protocolErrors + pair.acceptor.stats().protocolErrors, 0);
  });

  it('a stalled consumer on one stream does not slow another, and its backlog stays bounded', async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const slowSockets: Socket[] = [];
    // The "slow" session floods its stream forever; the fast one sends 32 MiB and closes.
    const flood = await startTcpServer((socket) => {
      slowSockets.push(socket);
      const pump = () => {
        while (socket.write(chunk));
      };
      socket.on('drain', pump);
      pump();
    });
    cleanups.push(flood.close);
    const fastTotal = 32 * 1024 * 1024;
    const bulk = await startTcpServer((socket) => socket.end(Buffer.alloc(fastTotal, 1)));
    cleanups.push(bulk.close);
    const pair = await createMuxPair();
    cleanups.push(pair.close);

    const slow = recordingPort({ stalled: true });
    await pair.opener.open({ sessionId: SESSION, port: flood.port }, slow.attach);
    await waitFor('the slow stream to use up its window', () => slow.state.bytes >= WINDOW);

    const fast = recordingPort();
    await pair.opener.open({ sessionId: SESSION, port: bulk.port }, fast.attach);
    await waitFor('the fast stream to finish', () => fast.state.ended !== undefined, {
      timeoutMs: 30_000,
    });
    assert.equal(fast.state.bytes, fastTotal);
    assert.deepEqual(fast.state.ended, { kind: 'peer_closed', reason: 'end of stream' });

    // The stalled stream got exactly its window and no more: the agent paused that socket.
    assert.equal(slow.state.bytes, WINDOW);
    assert.equal(slow.state.ended, undefined, 'the slow stream is still open');
    assert.ok(pair.acceptor.stats().peakQueuedBytes <= WINDOW);
    assert.ok(pair.opener.stats().peakUnflushedBytes <= WINDOW);
    // Its session socket is backed up at the server: the agent stopped reading it.
    await waitFor('the flood server to be blocked', () =>
      slowSockets[0] !== undefined && slowSockets[0].writableLength > 0 ? true : undefined,
    );

    // Releasing the consumer lets the slow stream move again.
    slow.state.stalled = false;
    for (const release of slow.state.held.splice(0)) release();
    await waitFor('the slow stream to resume', () => slow.state.bytes > 4 * WINDOW);
  });

  it('delivers the last bytes before the CLOSE that follows them in the same message', async () => {
    const received: Buffer[] = [];
    let ended = false;
    const sink = await startTcpServer((socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('end', () => (ended = true));
    });
    cleanups.push(sink.close);
    const pair = await createMuxPair();
    cleanups.push(pair.close);
    const first = await pair.opener.open(
      { sessionId: SESSION, port: sink.port },
      recordingPort().attach,
    );
    const second = await pair.opener.open(
      { sessionId: SESSION, port: sink.port },
      recordingPort().attach,
    );
    // Same tick: DATA and CLOSE (with a reason) are batched into one WebSocket message.
    first.push(Buffer.from('last words'));
    first.end('viewer closed');
    await waitFor('the session to get the bytes and then the end', () => ended);
    assert.equal(Buffer.concat(received).toString(), 'last words');
    second.push(Buffer.from('x'));
    await waitFor('the other stream to keep working', () => Buffer.concat(received).length === 11);
    assert.equal(pair.acceptor.stats().protocolErrors, 0);
  });

  it('refuses a frame for an unknown stream id and keeps serving the others', async () => {
    const echo = await startTcpServer((socket) => socket.pipe(socket));
    cleanups.push(echo.close);
    const pair = await createMuxPair();
    cleanups.push(pair.close);
    const port = recordingPort();
    port.state.keep = true;
    const stream = await pair.opener.open({ sessionId: SESSION, port: echo.port }, port.attach);

    pair.openerSocket.send(encodeFrame(FrameKind.data, 999, Buffer.from('hello')));
    const refusal = await waitFor('an ERROR for stream 999', () =>
      pair.openerReceived
        .flatMap((message) => decodeFrames(message))
        .find((frame) => frame.kind === FrameKind.error && frame.streamId === 999),
    );
    assert.equal(decodeStreamErrorPayload(refusal)?.code, 'stream_id_unknown');

    stream.push(Buffer.from('still here'));
    await waitFor('the open stream to echo', () => port.state.bytes === 10);
    assert.equal(Buffer.concat(port.state.chunks).toString(), 'still here');
    assert.equal(port.state.ended, undefined);
  });

  it('drops an undecodable message, counts it, and keeps serving', async () => {
    const echo = await startTcpServer((socket) => socket.pipe(socket));
    cleanups.push(echo.close);
    const pair = await createMuxPair();
    cleanups.push(pair.close);
    const port = recordingPort();
    const stream = await pair.opener.open({ sessionId: SESSION, port: echo.port }, port.attach);

    pair.openerSocket.send(Buffer.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    pair.openerSocket.send(Buffer.from([FrameKind.data, 0, 0, 0, 1, 0, 0, 0, 50, 1])); // truncated
    await waitFor('both garbage messages to be counted', () =>
      pair.acceptor.stats().protocolErrors === 2 ? true : undefined,
    );
    stream.push(Buffer.from('ping'));
    await waitFor('the stream to echo', () => port.state.bytes === 4);
    assert.equal(port.state.ended, undefined);
  });

  it('fails only the stream whose sender exceeds its credit', async () => {
    const closedAtServer: string[] = [];
    const echo = await startTcpServer((socket) => {
      socket.pipe(socket);
      socket.on('close', () => closedAtServer.push('closed'));
    });
    cleanups.push(echo.close);
    const pair = await createMuxPair();
    cleanups.push(pair.close);
    const victim = recordingPort();
    const victimStream = await pair.opener.open(
      { sessionId: SESSION, port: echo.port },
      victim.attach,
    );
    const bystander = recordingPort();
    const bystanderStream = await pair.opener.open(
      { sessionId: SESSION, port: echo.port },
      bystander.attach,
    );

    // More than the agent's whole window in one go, bypassing the mux's own accounting.
    const tooMuch = Buffer.alloc(WINDOW + 1);
    pair.openerSocket.send(encodeFrame(FrameKind.data, victimStream.id, tooMuch));
    await waitFor('the victim stream to be failed', () => victim.state.ended);
    assert.deepEqual(
      { kind: victim.state.ended?.kind, code: (victim.state.ended as { code?: string }).code },
      { kind: 'peer_error', code: 'credit_exceeded' },
    );
    await waitFor(
      'the agent to close the victim session socket',
      () => closedAtServer.length === 1,
    );

    bystanderStream.push(Buffer.from('unaffected'));
    await waitFor('the bystander to echo', () => bystander.state.bytes === 10);
    assert.equal(bystander.state.ended, undefined);
  });

  it('reports open failures with stable codes', async () => {
    const clock = new FakeClock();
    let hang = false;
    let hangingOpens = 0;
    const pair = await createMuxPair({
      clock,
      maxStreams: 1,
      openStream: async (sessionId) => {
        if (hang) {
          hangingOpens += 1;
          return new Promise(() => {});
        }
        throw new DriverError('session_not_found', `no session ${sessionId}`);
      },
    });
    cleanups.push(pair.close);
    const port = recordingPort();
    await assert.rejects(
      pair.opener.open({ sessionId: SESSION, port: 5900 }, port.attach),
      (error) => {
        assert.ok(error instanceof StreamOpenError);
        assert.equal(error.code, 'session_not_found');
        return true;
      },
    );

    hang = true;
    const pendingOpen = pair.opener.open({ sessionId: SESSION, port: 5900 }, port.attach);
    // Once the agent holds the pending open, a second one exceeds its limit of 1.
    await waitFor('the agent to hold the pending open', () => hangingOpens === 1);
    await assert.rejects(pair.opener.open({ sessionId: SESSION, port: 5900 }, port.attach), {
      code: 'too_many_streams',
    });
    clock.advance(10_000);
    await assert.rejects(pendingOpen, { code: 'open_timeout' });
  });

  it('fails every stream when the link goes away', async () => {
    const serverClosed: string[] = [];
    const echo = await startTcpServer((socket) => {
      socket.pipe(socket);
      socket.on('close', () => serverClosed.push('closed'));
    });
    cleanups.push(echo.close);
    const pair = await createMuxPair();
    const ports = [recordingPort(), recordingPort()];
    for (const port of ports)
      await pair.opener.open({ sessionId: SESSION, port: echo.port }, port.attach);
    await pair.close();
    await waitFor('both ends told the link closed', () =>
      ports.every((port) => port.state.ended?.kind === 'link_closed'),
    );
    await waitFor('the agent to release both session sockets', () => serverClosed.length === 2);
    await assert.rejects(
      pair.opener.open({ sessionId: SESSION, port: echo.port }, ports[0]!.attach),
      {
        code: 'link_closed',
      },
    );
  });
});

describe('a mux stream as a Node Duplex', () => {
  it('pipes 16 MiB through an echo session with backpressure and ends when the session hangs up', async () => {
    const echo = await startTcpServer((socket) => socket.pipe(socket));
    const pair = await createMuxPair();
    try {
      const duplex = await openMuxDuplex((attach) =>
        pair.opener.open({ sessionId: SESSION, port: echo.port }, attach),
      );
      const data = randomBytes(16 * 1024 * 1024);
      const received = createHash('sha256');
      let bytes = 0;
      const done = new Promise<void>((resolve) =>
        duplex.on('data', (chunk: Buffer) => {
          received.update(chunk);
          bytes += chunk.length;
          if (bytes === data.length) resolve();
        }),
      );
      await pipeline(Readable.from(chunksOf(data, 100_000)), duplex, { end: false });
      await done;
      assert.equal(received.digest('hex'), createHash('sha256').update(data).digest('hex'));
      assert.ok(pair.opener.stats().peakQueuedBytes <= WINDOW);

      const ended = new Promise<void>((resolve) => duplex.once('end', () => resolve()));
      await echo.close();
      await ended;
    } finally {
      await pair.close();
    }
  });
});

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size)
    yield data.subarray(offset, offset + size);
}
