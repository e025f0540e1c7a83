import type Docker from 'dockerode';

const LOG_LINE_MAX = 300;

/**
 * The last lines a container wrote (stdout and stderr), for error messages and failure
 * reasons. Never throws: a container that is already gone has no logs to give.
 */
export async function lastLogLines(container: Docker.Container, lines: number): Promise<string[]> {
  try {
    const raw = (await container.logs({
      stdout: true,
      stderr: true,
      follow: false,
      tail: lines,
    })) as Buffer;
    return demultiplex(raw)
      .toString('utf8')
      .split('\n')
      .map((line) => line.trimEnd().slice(0, LOG_LINE_MAX))
      .filter((line) => line !== '');
  } catch {
    return [];
  }
}

/**
 * Containers without a TTY multiplex stdout and stderr in frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian payload length) and the payload (Docker Engine
 * API, "Attach to a container": stream format).
 */
function demultiplex(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const type = raw[offset];
    const length = raw.readUInt32BE(offset + 4);
    if (type === undefined || type > 2 || raw[offset + 1] !== 0) return raw;
    parts.push(raw.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return offset === 0 ? raw : Buffer.concat(parts);
}
