import type { SessionObservation } from '@streamspace/protocol';
import type { SessionRecord } from './session-state-store';

/** Sessions listen on loopback only; the agent is the only client. */
export const LOOPBACK = '127.0.0.1';

/** Observation of a record: the wire shape the agent runtime reports. */
export function observe(record: SessionRecord): SessionObservation {
  if (record.status === 'running' && record.port !== undefined) {
    const xvnc = record.processes.find((process) => process.role === 'xvnc');
    return {
      sessionId: record.sessionId,
      status: 'running',
      endpoint: { host: LOOPBACK, port: record.port },
      details: {
        display: `:${record.display}`,
        port: String(record.port),
        pid: String(xvnc?.pid ?? ''),
      },
    };
  }
  if (record.status === 'failed') {
    const status = record.endedNormally === true ? 'stopped' : 'failed';
    return { sessionId: record.sessionId, status, reason: record.reason, details: {} };
  }
  // hibernated, or in a transition (starting, hibernating, stopping): nothing serves yet.
  const reason = record.status === 'hibernated' ? undefined : record.status;
  return { sessionId: record.sessionId, status: 'stopped', reason, details: {} };
}
