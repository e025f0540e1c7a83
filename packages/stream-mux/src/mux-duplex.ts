import { Duplex } from 'node:stream';
import type { AttachPort } from './stream-mux';
import type { MuxStream, StreamEnd } from './stream-port';

/** Error a mux Duplex is destroyed with when its stream fails (peer error, link gone). */
export class StreamEndedError extends Error {
  override readonly name = 'StreamEndedError';

  constructor(readonly end: StreamEnd) {
    super(
      end.kind === 'peer_error' || end.kind === 'protocol_error'
        ? `stream failed: ${end.code}`
        : `stream ended: ${end.reason}`,
    );
  }
}

/**
 * A multiplexed stream as a Node Duplex, for code that wants pipes rather than the mux's
 * port callbacks (e.g. tunnelling HTTP to a session port later). Backpressure maps onto
 * credit both ways: bytes the peer sent are acknowledged (credit granted) only once the
 * reader has taken them, and writes complete only while the stream's send queue has room.
 *
 * Usage: `const duplex = await openMuxDuplex((attach) => mux.openStream(target, attach))`.
 */
export async function openMuxDuplex(
  open: (attach: AttachPort) => Promise<MuxStream>,
): Promise<Duplex> {
  let stream: MuxStream | undefined;
  let sendPaused = false;
  let heldWrite: (() => void) | undefined;
  const heldCredit: (() => void)[] = [];
  const duplex = new Duplex({
    // The protocol has no half-close: when either direction ends, the stream is over.
    allowHalfOpen: false,
    read() {
      for (const grant of heldCredit.splice(0)) grant();
    },
    write(chunk: Buffer, _encoding, callback) {
      stream?.push(chunk);
      if (sendPaused) heldWrite = callback;
      else callback();
    },
    final(callback) {
      stream?.end('local end finished');
      duplex.push(null);
      callback();
    },
    destroy(error, callback) {
      stream?.end(error ? 'local end failed' : 'local end closed');
      callback(error);
    },
  });
  await open((muxStream) => {
    stream = muxStream;
    return {
      write(chunk, onFlushed) {
        if (duplex.push(chunk)) onFlushed();
        else heldCredit.push(onFlushed);
      },
      pause: () => {
        sendPaused = true;
      },
      resume: () => {
        sendPaused = false;
        const callback = heldWrite;
        heldWrite = undefined;
        callback?.();
      },
      terminate: (end) => {
        if (end.kind === 'peer_closed') duplex.push(null);
        else duplex.destroy(new StreamEndedError(end));
      },
    };
  });
  return duplex;
}
