/**
 * Whether a browser page from `origin` may open a viewer WebSocket (cross-site WebSocket
 * hijacking protection). Allowed: the request's own host, or an origin listed in
 * STREAMSPACE_ALLOWED_ORIGINS. A missing Origin header is allowed: browsers always send one
 * on WebSocket handshakes, so its absence means a non-browser client (an RFB tool, a test),
 * which still needs a valid single-use ticket.
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[],
): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (host !== undefined && parsed.host.toLowerCase() === host.toLowerCase()) return true;
  return allowedOrigins.some((allowed) => normalise(allowed) === parsed.origin);
}

function normalise(origin: string): string | undefined {
  try {
    return new URL(origin).origin;
  } catch {
    return undefined;
  }
}
