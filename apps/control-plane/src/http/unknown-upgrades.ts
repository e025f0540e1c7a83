import type { Server } from 'node:http';

/**
 * WebSocket upgrades on a path no module serves get a 404 instead of hanging until the
 * client gives up. `isServed` says which paths other upgrade listeners take.
 */
export function refuseUnknownUpgrades(
  server: Server,
  isServed: (url: string | undefined) => boolean,
): void {
  server.on('upgrade', (request, socket) => {
    if (isServed(request.url)) return;
    socket.end(
      'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nno WebSocket here\n',
    );
  });
}
