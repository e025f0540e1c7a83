// A TCP "session" for the benchmark. The first line from the client picks the mode:
//   "B <bytes>\n"  send that many bytes, then keep the connection open
//   "E\n"          echo everything that follows
// Run as a child process so its CPU does not count against the path under test.
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';

const SOURCE = randomBytes(1024 * 1024);
const CHUNK_BYTES = 256 * 1024;

function sendBulk(socket: Socket, total: number): void {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const count = Math.min(left, CHUNK_BYTES);
      const offset = (total - left) % (SOURCE.length - CHUNK_BYTES);
      left -= count;
      if (!socket.write(SOURCE.subarray(offset, offset + count))) return;
    }
  };
  socket.on('drain', pump);
  pump();
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const newline = head.indexOf(10);
    if (newline < 0) return;
    socket.off('data', onHead);
    const [mode, count] = head.subarray(0, newline).toString().split(' ');
    const rest = head.subarray(newline + 1);
    if (mode === 'E') {
      if (rest.length > 0) socket.write(rest);
      socket.pipe(socket);
    } else {
      socket.resume();
      sendBulk(socket, Number(count));
    }
  };
  socket.on('data', onHead);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  );
});
