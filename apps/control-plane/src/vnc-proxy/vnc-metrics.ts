import { Counter, Gauge, type Registry } from 'prom-client';
import type { StreamMuxHooks } from '@streamspace/stream-mux';

export type VncMetrics = ReturnType<typeof createVncMetrics>;

/** Instruments of the VNC proxy and the control plane's side of the stream mux. */
export function createVncMetrics(registry: Registry) {
  const viewers = new Gauge({
    name: 'streamspace_vnc_viewers',
    help: 'Viewer WebSockets carrying a session stream right now.',
    registers: [registry],
  });
  const viewerBytes = new Counter({
    name: 'streamspace_vnc_viewer_bytes_total',
    help: 'RFB bytes carried for viewers, by direction (to_viewer, from_viewer).',
    labelNames: ['direction'] as const,
    registers: [registry],
  });
  const viewerRefusals = new Counter({
    name: 'streamspace_vnc_viewer_refusals_total',
    help: 'Viewer WebSockets closed before streaming, by close code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const streams = new Gauge({
    name: 'streamspace_agent_streams',
    help: 'Open multiplexed streams on the agent links this process holds.',
    registers: [registry],
  });
  const streamBytes = new Counter({
    name: 'streamspace_agent_stream_bytes_total',
    help: 'Stream DATA bytes on agent links, by direction (to_agent, from_agent).',
    labelNames: ['direction'] as const,
    registers: [registry],
  });
  const streamProtocolErrors = new Counter({
    name: 'streamspace_agent_stream_protocol_errors_total',
    help: 'Stream frames refused and messages dropped as undecodable, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const toAgent = streamBytes.labels('to_agent');
  const fromAgent = streamBytes.labels('from_agent');
  const hooks: StreamMuxHooks = {
    streamOpened: () => streams.inc(),
    streamClosed: () => streams.dec(),
    bytesSent: (bytes) => toAgent.inc(bytes),
    bytesReceived: (bytes) => fromAgent.inc(bytes),
    protocolError: (kind) => streamProtocolErrors.inc({ kind }),
  };
  return {
    viewers,
    toViewer: viewerBytes.labels('to_viewer'),
    fromViewer: viewerBytes.labels('from_viewer'),
    viewerRefusals,
    /** Pass to createControlPlaneStreamMux so every agent link reports here. */
    streamHooks: hooks,
  };
}
