/**
 * Version of the agent link protocol (control plane ⇄ agent).
 *
 * Changelog — bump PROTOCOL_VERSION on every incompatible change and say what changed:
 *   1 (2026-11-27) first version: hello/welcome, heartbeats, commands with ack/result,
 *     session reports, binary stream frames (open, open_ok, data, credit, close, error)
 *     with per-stream credit flow control.
 */
export const PROTOCOL_VERSION = 1;

/** Oldest agent protocol version the control plane still accepts. */
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

export function isSupportedProtocolVersion(version: number): boolean {
  return version >= MIN_SUPPORTED_PROTOCOL_VERSION && version <= PROTOCOL_VERSION;
}
