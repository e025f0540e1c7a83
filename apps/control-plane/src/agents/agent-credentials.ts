import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { Db } from '../db/database';
import type { AgentRow } from '../db/schema';
import { secretMatchesHash } from '../auth/secrets';

/** The header that names the agent beside its bearer secret (docs/api.md, authentication). */
export const AGENT_ID_HEADER = 'x-streamspace-agent-id';

const AgentSecretPattern = /^ssa_[A-Za-z0-9_-]{20,100}$/;

export interface AgentCredential {
  agentId: string;
  secret: string;
}

/** Read `Authorization: Bearer <agent secret>` + `X-StreamSpace-Agent-Id`; never the URL. */
export function agentCredentialOf(headers: IncomingHttpHeaders): AgentCredential | undefined {
  const authorization = headers.authorization;
  const agentId = headers[AGENT_ID_HEADER];
  if (typeof authorization !== 'string' || typeof agentId !== 'string') return undefined;
  const secret = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (secret === undefined || !AgentSecretPattern.test(secret)) return undefined;
  if (!z.uuid().safeParse(agentId).success) return undefined;
  return { agentId, secret };
}

/** The agent whose credential this is, or null (unknown id, deleted agent, wrong secret). */
export async function authenticateAgent(
  db: Db,
  credential: AgentCredential | undefined,
): Promise<AgentRow | null> {
  if (credential === undefined) return null;
  const row = await db
    .selectFrom('agents')
    .selectAll()
    .where('id', '=', credential.agentId)
    .executeTakeFirst();
  if (row === undefined || !secretMatchesHash(credential.secret, row.secretHash)) return null;
  return row;
}
