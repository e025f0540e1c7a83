import { KubeApiError } from './kube-status';

/** The Content-Type of Kubernetes' protobuf encoding. */
export const KUBE_PROTOBUF = 'application/vnd.kubernetes.protobuf';

// Every protobuf body starts with this magic, then a runtime.Unknown message
// (k8s.io/apimachinery/pkg/runtime/serializer/protobuf).
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { number: number; value: bigint | Buffer };

/** The fields of one protobuf message in order; varints as bigint, length-delimited as bytes. */
function fields(message: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= message.length) throw unsupported('a truncated protobuf varint');
      const byte = message[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (at < message.length) {
    const key = Number(varint());
    const number = key >>> 3;
    switch (key & 7) {
      case 0:
        out.push({ number, value: varint() });
        break;
      case 2: {
        const length = Number(varint());
        if (at + length > message.length) throw unsupported('a truncated protobuf field');
        out.push({ number, value: message.subarray(at, at + length) });
        at += length;
        break;
      }
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      default:
        throw unsupported(`protobuf wire type ${key & 7}`);
    }
  }
  return out;
}

function unsupported(what: string): KubeApiError {
  return new KubeApiError(415, 'UnsupportedMediaType', `the server cannot decode ${what}`);
}

const text = (value: bigint | Buffer): string => (value as Buffer).toString('utf8');

/** A map<string, string|bytes> field: repeated entries of {key = 1, value = 2}. */
function mapOf(
  all: Field[],
  number: number,
  decode: (value: Buffer) => string,
): Record<string, string> | undefined {
  const entries = all.filter((field) => field.number === number);
  if (entries.length === 0) return undefined;
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const parts = fields(entry.value as Buffer);
    const key = parts.find((part) => part.number === 1);
    const value = parts.find((part) => part.number === 2);
    map[key === undefined ? '' : text(key.value)] =
      value === undefined ? '' : decode(value.value as Buffer);
  }
  return map;
}

function string(all: Field[], number: number): string | undefined {
  const found = all.find((field) => field.number === number);
  return found === undefined ? undefined : text(found.value);
}

/** k8s.io/apimachinery/pkg/apis/meta/v1 ObjectMeta: the fields a client sets on create. */
function objectMeta(message: Buffer): Record<string, unknown> {
  const all = fields(message);
  const meta: Record<string, unknown> = {};
  const put = (key: string, value: unknown) => {
    if (value !== undefined && value !== '') meta[key] = value;
  };
  put('name', string(all, 1));
  put('generateName', string(all, 2));
  put('namespace', string(all, 3));
  put('uid', string(all, 5));
  put('resourceVersion', string(all, 6));
  put(
    'labels',
    mapOf(all, 11, (value) => value.toString('utf8')),
  );
  put(
    'annotations',
    mapOf(all, 12, (value) => value.toString('utf8')),
  );
  const finalizers = all.filter((field) => field.number === 14).map((field) => text(field.value));
  if (finalizers.length > 0) meta.finalizers = finalizers;
  return meta;
}

/** k8s.io/api/core/v1 Secret (generated.proto): metadata 1, data 2, type 3, stringData 4. */
function secret(message: Buffer): Record<string, unknown> {
  const all = fields(message);
  const metadata = all.find((field) => field.number === 1);
  const immutable = all.find((field) => field.number === 5);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata === undefined ? {} : objectMeta(metadata.value as Buffer),
    ...withValue(
      'data',
      mapOf(all, 2, (value) => value.toString('base64')),
    ),
    ...withValue('type', string(all, 3)),
    ...withValue(
      'stringData',
      mapOf(all, 4, (value) => value.toString('utf8')),
    ),
    ...(immutable === undefined ? {} : { immutable: immutable.value === 1n }),
  };
}

/** meta/v1 DeleteOptions: gracePeriodSeconds 1, propagationPolicy 4; the rest is not used. */
function deleteOptions(message: Buffer): Record<string, unknown> {
  const all = fields(message);
  const grace = all.find((field) => field.number === 1);
  return {
    kind: 'DeleteOptions',
    ...(grace === undefined
      ? {}
      : { gracePeriodSeconds: Number(BigInt.asIntN(64, grace.value as bigint)) }),
    ...withValue('propagationPolicy', string(all, 4)),
  };
}

function withValue(key: string, value: unknown): Record<string, unknown> {
  return value === undefined ? {} : { [key]: value };
}

const DECODERS: Record<string, (message: Buffer) => Record<string, unknown>> = {
  'v1/Secret': secret,
  'v1/DeleteOptions': deleteOptions,
  'meta.k8s.io/v1/DeleteOptions': deleteOptions,
};

/**
 * Decodes a protobuf request body into the JSON shape of the same object. client-go's typed
 * clients send built-in kinds in protobuf when configured to (Helm stores its releases in
 * Secrets that way); this server knows the Secret and DeleteOptions messages only and answers
 * anything else with 415, and always responds in JSON, which those clients also accept.
 */
export function decodeProtobufBody(body: Buffer): unknown {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw unsupported('a protobuf body without the k8s envelope');
  }
  const unknown = fields(body.subarray(MAGIC.length));
  const typeMeta = unknown.find((field) => field.number === 1);
  const raw = unknown.find((field) => field.number === 2);
  const meta = typeMeta === undefined ? [] : fields(typeMeta.value as Buffer);
  const apiVersion = string(meta, 1) ?? '';
  const kind = string(meta, 2) ?? '';
  const decode = DECODERS[`${apiVersion}/${kind}`];
  if (decode === undefined) throw unsupported(`${apiVersion} ${kind} in protobuf`);
  return decode((raw?.value as Buffer | undefined) ?? Buffer.alloc(0));
}
