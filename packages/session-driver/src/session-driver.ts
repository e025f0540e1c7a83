import type { Duplex } from 'node:stream';
import type { Platform, SessionObservation, SessionSpec } from '@streamspace/protocol';

/** A session the driver has started: what it reports back to the control plane. */
export interface StartedSession {
  observation: SessionObservation;
}

export interface StopOptions {
  /** Also delete the persistent home identified by homeKey. */
  deleteHome: boolean;
  homeKey?: string;
}

/** Listener for what happens to sessions on the driver's own initiative (a crash, a removal). */
export type SessionChangeListener = (observation: SessionObservation) => void;

/**
 * The one interface every platform implements (BRIEF.md, "The driver boundary"; JupyterHub's
 * Spawner is the model). A driver never talks to the control plane or the database; the agent
 * runtime hosts it. Every method is idempotent: starting a running session returns it, stopping
 * a stopped or unknown session resolves.
 */
export interface SessionDriver {
  readonly platform: Platform;

  /** Resolves once the session's VNC endpoint accepts connections. */
  start(spec: SessionSpec): Promise<StartedSession>;

  /** Removes the session's compute. Keeps the home unless options.deleteHome. */
  stop(sessionId: string, options: StopOptions): Promise<void>;

  /**
   * Releases compute and keeps the home. The app gets SIGTERM and a grace period to flush
   * before it is killed.
   */
  hibernate(sessionId: string): Promise<void>;

  /** Brings a hibernated session back with the same home; resolves when VNC answers. */
  wake(spec: SessionSpec): Promise<StartedSession>;

  /** What really runs for this session, or null when the driver knows nothing of it. */
  inspect(sessionId: string): Promise<SessionObservation | null>;

  /** Every session the driver runs or keeps (hibernated ones report status `stopped`). */
  list(): Promise<SessionObservation[]>;

  /** A duplex byte stream to a TCP port of the session (the VNC port, later HTTP apps). */
  openStream(sessionId: string, port: number): Promise<Duplex>;

  /** Subscribe to sessions dying or disappearing behind the agent's back. Returns unsubscribe. */
  onSessionChange(listener: SessionChangeListener): () => void;

  /** Release the driver's own resources (event streams, timers). Sessions keep running. */
  close(): Promise<void>;
}
