/**
 * WebSocket close codes (RFC 6455 §7.4: 4000–4999 are for applications). Every refusal on
 * the agent link and the /vnc proxy closes with one of these and a short reason text.
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** RFC 6455 §7.4.1: a message too big to process. */
  messageTooBig: 1009,
  internalError: 1011,
  unauthorized: 4001,
  forbidden: 4003,
  notFound: 4004,
  protocolVersionUnsupported: 4005,
  invalidMessage: 4006,
  replaced: 4008,
  heartbeatTimeout: 4009,
  agentOffline: 4010,
  sessionNotRunning: 4011,
  streamFailed: 4012,
  ticketInvalid: 4013,
  originForbidden: 4014,
  agentDeleted: 4015,
  serverShutdown: 4016,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
