// The stream multiplexer both ends of an agent link share (docs/performance.md, "The path"):
// the control plane opens streams, the agent accepts them (agent-runtime's agent-stream-mux).
export * from './stream-mux';
export * from './stream-port';
export * from './mux-duplex';
export * from './socket-reads';
export type { PartsLink } from './link-scheduler';
