import type { IncomingMessage } from 'node:http';
import { badRequest } from './kube-status';
import { isApplyPatch, parseApplyBody } from './patch-options';
import { decodeProtobufBody, KUBE_PROTOBUF } from './protobuf-body';

/**
 * The request body as a JSON value: JSON, YAML for server-side apply, or the protobuf messages
 * protobuf-body.ts knows.
 */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  if (body.length > 0 && (request.headers['content-type'] ?? '').startsWith(KUBE_PROTOBUF)) {
    return decodeProtobufBody(body);
  }
  const text = body.toString('utf8');
  if (isApplyPatch(request.headers['content-type'])) return parseApplyBody(text);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}
