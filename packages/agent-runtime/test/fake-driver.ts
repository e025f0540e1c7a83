import type { Duplex } from 'node:stream';
import type { Platform, SessionObservation, SessionSpec } from '@streamspace/protocol';
import {
  DriverError,
  type SessionChangeListener,
  type SessionDriver,
  type StartedSession,
  type StopOptions,
} from '@streamspace/session-driver';

export type FakeOperation = 'start' | 'wake' | 'stop' | 'hibernate';

/**
 * An in-memory SessionDriver for runtime and control-plane tests. It counts every operation
 * per session (so tests can prove a command ran exactly once) and can hold operations at a
 * gate until the test releases them.
 */
export class FakeDriver implements SessionDriver {
  readonly sessions = new Map<string, SessionObservation>();
  readonly calls: { operation: FakeOperation; sessionId: string }[] = [];
  private readonly listeners = new Set<SessionChangeListener>();
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private failures = new Map<string, DriverError | Error>();

  constructor(readonly platform: Platform = 'docker') {}

  /** How many times `operation` ran for `sessionId` (or for any session). */
  count(operation: FakeOperation, sessionId?: string): number {
    return this.calls.filter(
      (call) =>
        call.operation === operation && (sessionId === undefined || call.sessionId === sessionId),
    ).length;
  }

  /** Operations from now on wait until release() is called. */
  hold(): void {
    if (this.gate !== undefined) return;
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
    this.openGate = undefined;
  }

  /** The next `operation` on `sessionId` rejects with this error. */
  failNext(operation: FakeOperation, sessionId: string, error: DriverError | Error): void {
    this.failures.set(`${operation}:${sessionId}`, error);
  }

  /** Simulate something happening behind the driver's back (a crash). */
  emitChange(observation: SessionObservation): void {
    this.sessions.set(observation.sessionId, observation);
    for (const listener of this.listeners) listener(observation);
  }

  private async enter(operation: FakeOperation, sessionId: string): Promise<void> {
    this.calls.push({ operation, sessionId });
    if (this.gate !== undefined) await this.gate;
    const failure = this.failures.get(`${operation}:${sessionId}`);
    if (failure !== undefined) {
      this.failures.delete(`${operation}:${sessionId}`);
      throw failure;
    }
  }

  private running(spec: SessionSpec): StartedSession {
    const observation: SessionObservation = {
      sessionId: spec.sessionId,
      status: 'running',
      endpoint: { host: '127.0.0.1', port: spec.vncPort },
      details: { fake: 'true' },
    };
    this.sessions.set(spec.sessionId, observation);
    return { observation };
  }

  async start(spec: SessionSpec): Promise<StartedSession> {
    await this.enter('start', spec.sessionId);
    return this.running(spec);
  }

  async wake(spec: SessionSpec): Promise<StartedSession> {
    await this.enter('wake', spec.sessionId);
    return this.running(spec);
  }

  async stop(sessionId: string, _options: StopOptions): Promise<void> {
    await this.enter('stop', sessionId);
    this.sessions.delete(sessionId);
  }

  async hibernate(sessionId: string): Promise<void> {
    await this.enter('hibernate', sessionId);
    const current = this.sessions.get(sessionId);
    if (current === undefined) throw new DriverError('session_not_found', 'no such session');
    this.sessions.set(sessionId, { sessionId, status: 'stopped', details: current.details });
  }

  async inspect(sessionId: string): Promise<SessionObservation | null> {
    return this.sessions.get(sessionId) ?? null;
  }

  async list(): Promise<SessionObservation[]> {
    return [...this.sessions.values()];
  }

  async openStream(sessionId: string, _port: number): Promise<Duplex> {
    throw new DriverError('session_not_found', `the fake driver has no streams (${sessionId})`);
  }

  onSessionChange(listener: SessionChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
