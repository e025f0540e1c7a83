import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { waitFor } from '@streamspace/test-kit';
import type { MuxStream, StreamPort } from '@streamspace/stream-mux';
import { createMuxPair, startTcpServer } from './stream-link-pair';

const SESSION = '00000000-0000-4000-8000-000000000001';
/** RFC 6143 §7.1.1: an RFB server speaks first, then waits for the client's version. */
const GREETING = Buffer.from('RFB 003.008\n');
const CLIENT_VERSION = Buffer.from('RFB 003.008\n');
/** §7.1.2: what our stand-in server sends once the client answered (one type: None). */
const SECURITY_TYPES = Buffer.from([1, 1]);

/**
 * A stand-in RFB server: greets on accept and says nothing more until the client answers,
 * so a greeting lost or left unread anywhere on the path stalls the viewer for good.
 */
function startGreetingServer() {
  return startTcpServer((socket) => {
    socket.write(GREETING);
    let answer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length === CLIENT_VERSION.length) socket.write(SECURITY_TYPES);
    });
  });
}

/** A viewer-side local end that keeps what arrives and grants credit at once. */
function viewerEnd() {
  const state = { received: Buffer.alloc(0), stream: undefined as MuxStream | undefined };
  const attach = (stream: MuxStream): StreamPort => {
    state.stream = stream;
    return {
      write(chunk, onFlushed) {
        state.received = Buffer.concat([state.received, chunk]);
        onFlushed();
      },
      pause() {},
      resume() {},
      terminate() {},
    };
  };
  return { state, attach };
}

/**
 * Drivers that hand the socket over at different moments: at 'connect' (as the drivers do),
 * only once Node has already read the greeting into its own buffer (a busy agent attaching
 * late), and that plus paused (flowing stopped before the mux switches the socket over).
 */
const handovers = {
  'at connect': async (socket: Socket) => socket,
  'after Node already read the greeting': async (socket: Socket) => {
    await waitFor('Node to read the greeting', () => socket.readableLength >= GREETING.length);
    return socket;
  },
  'after the greeting was read, paused': async (socket: Socket) => {
    socket.pause();
    await waitFor('Node to read the greeting', () => socket.readableLength >= GREETING.length);
    return socket;
  },
} as const;

describe('a session that speaks first (RFB) through the stream mux', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  for (const [when, handOver] of Object.entries(handovers)) {
    it(`delivers the greeting with nothing more coming, socket handed over ${when}`, async () => {
      const server = await startGreetingServer();
      cleanups.push(server.close);
      const pair = await createMuxPair({
        openStream: async (_sessionId, port) => {
          const socket = connect({ host: '127.0.0.1', port });
          await once(socket, 'connect');
          return handOver(socket);
        },
      });
      cleanups.push(pair.close);
      const viewers = Array.from({ length: 8 }, () => viewerEnd());
      await Promise.all(
        viewers.map((viewer) =>
          pair.opener.open({ sessionId: SESSION, port: server.port }, viewer.attach),
        ),
      );
      for (const [index, viewer] of viewers.entries()) {
        await waitFor(`viewer ${index} to get the greeting`, () =>
          viewer.state.received.length >= GREETING.length ? true : undefined,
        );
        assert.deepEqual(viewer.state.received, GREETING);
        viewer.state.stream!.push(CLIENT_VERSION);
      }
      for (const [index, viewer] of viewers.entries()) {
        await waitFor(`viewer ${index} to get the answer to its version`, () =>
          viewer.state.received.length === GREETING.length + SECURITY_TYPES.length
            ? true
            : undefined,
        );
      }
      assert.equal(pair.acceptor.stats().protocolErrors, 0);
      assert.equal(pair.opener.stats().protocolErrors, 0);
    });
  }
});
