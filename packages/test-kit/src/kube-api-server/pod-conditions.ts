import { timestamp } from './kube-object';

/** A pod status as the kubelet writes it: free-form, with the conditions list typed. */
export type PodStatus = Record<string, unknown> & { conditions?: Record<string, unknown>[] };

/** Sets (replaces) one pod condition with a fresh lastTransitionTime. */
export function setCondition(
  status: PodStatus,
  type: string,
  value: boolean,
  reason?: string,
  message?: string,
): void {
  const conditions = (status.conditions ?? []).filter((condition) => condition.type !== type);
  conditions.push({
    type,
    status: value ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: timestamp(),
    ...(reason === undefined ? {} : { reason }),
    ...(message === undefined ? {} : { message }),
  });
  status.conditions = conditions;
}
