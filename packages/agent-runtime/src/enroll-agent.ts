import {
  RegisterAgentResponse,
  type Capacity,
  type Labels,
  type Platform,
} from '@streamspace/protocol';

export interface EnrollAgentOptions {
  controlPlaneUrl: string;
  enrollmentToken: string;
  name: string;
  platform: Platform;
  /** Ask for this id; refused with agent_identity_taken if another agent has it. */
  agentId?: string;
  region?: string;
  labels?: Labels;
  capacity?: Capacity;
  clusterInfo?: Record<string, string>;
  agentVersion?: string;
}

/** A refusal from the control plane, with its stable error code. */
export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Spend an enrollment token on a new agent identity (POST /api/v1/agents/register). The
 * returned secret is shown once: keep it (writeCredentialsFile).
 */
export async function enrollAgent(
  options: EnrollAgentOptions,
): Promise<{ agentId: string; agentSecret: string }> {
  const response = await fetch(new URL('/api/v1/agents/register', options.controlPlaneUrl), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.enrollmentToken}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      agentId: options.agentId,
      name: options.name,
      platform: options.platform,
      region: options.region,
      labels: options.labels,
      capacity: options.capacity,
      clusterInfo: options.clusterInfo,
      agentVersion: options.agentVersion,
    }),
  });
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status !== 201) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new EnrollmentError(
      response.status,
      error?.code ?? 'internal',
      `enrollment refused (${response.status}): ${error?.message ?? 'no error body'}`,
    );
  }
  const parsed = RegisterAgentResponse.parse(body);
  return { agentId: parsed.agent.id, agentSecret: parsed.agentSecret };
}
