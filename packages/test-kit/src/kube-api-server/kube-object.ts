/** The parts of a stored object the server itself reads; everything else is kept as sent. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generateName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    finalizers?: string[];
    [key: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

/** RFC 3339 without fractions, as metav1.Time marshals (`at`: a Date or an ISO string). */
export function timestamp(at: Date | string = new Date()): string {
  return (typeof at === 'string' ? at : at.toISOString()).replace(/\.\d+Z$/, 'Z');
}
