import { connect } from 'node:net';

/** RFC 6143 §7.1.1: the server speaks first with "RFB xxx.yyy\n". */
const BANNER = /^RFB \d{3}\.\d{3}\n$/;
const BANNER_BYTES = 12;

/**
 * Connect to host:port and resolve true once a complete RFB banner arrives, false when the
 * port refuses, closes early, sends something else or stays silent for timeoutMs.
 */
export function answersRfb(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= BANNER_BYTES) {
        finish(BANNER.test(received.subarray(0, BANNER_BYTES).toString('latin1')));
      }
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}
