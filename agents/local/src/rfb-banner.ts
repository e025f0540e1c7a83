import { connect } from 'node:net';

/** RFC 6143 §7.1.1: the server speaks first, 12 bytes "RFB 003.008\n". */
const BANNER_BYTES = 12;
const BANNER_TIMEOUT_MS = 2_000;

/** True when 127.0.0.1:port answers with an RFB ProtocolVersion banner. */
export function answersRfb(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(BANNER_TIMEOUT_MS, () => done(false));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= BANNER_BYTES) {
        done(received.subarray(0, 4).toString('latin1') === 'RFB ');
      }
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}
