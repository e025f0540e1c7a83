import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket, type ClientOptions } from 'ws';

export interface ViewerSocket {
  ws: WebSocket;
  /** The session's bytes (RFB) from the first byte on, and the way to send to it. */
  stream: Duplex;
  /** Settles when the WebSocket closes, with the close code and reason (listened from the start). */
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * Open a viewer WebSocket (e.g. `/vnc/:sessionId?ticket=`) as a Duplex that misses none of
 * the server's bytes. The stream listens from the moment the WebSocket exists, not from
 * after 'open': `ws` emits 'message' whether or not anyone listens, and a message that
 * reaches the client in the same TCP read as the 101 response (an RFB server speaks first,
 * so a busy client that reads late gets both at once) is emitted on a nextTick, before an
 * awaited 'open' continues. Created after that await, the stream waited forever for a
 * greeting already dropped: the intermittent "first-viewer stall" under load.
 */
export async function openViewerSocket(url: string, options: ClientOptions): Promise<ViewerSocket> {
  const ws = new WebSocket(url, options);
  const stream = createWebSocketStream(ws);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  await new Promise<void>((resolve, reject) => {
    // Before 'open', a failed handshake arrives as the stream's error (it listens on ws).
    const fail = (error: Error) => reject(error);
    stream.once('error', fail);
    ws.once('open', () => {
      stream.off('error', fail);
      resolve();
    });
  });
  return { ws, stream, closed };
}
