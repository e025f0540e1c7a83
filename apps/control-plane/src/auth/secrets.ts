import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Random bearer secrets. They carry 256 bits of entropy, so a fast SHA-256 hash is enough
 * to store them (unlike passwords, which use argon2). The prefix says what a leaked
 * string is: `ssu_` login/user tokens, `ssp_` personal API tokens, `sse_` enrollment
 * tokens, `ssa_` agent secrets, `sst_` VNC tickets.
 */
export function generateSecret(prefix: 'ssu' | 'ssp' | 'sse' | 'ssa' | 'sst'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatchesHash(secret: string, hash: string): boolean {
  const candidate = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(hash, 'hex');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

/** A password a person can type: 20 characters from an unambiguous alphabet. */
export function generatePassword(length = 20): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}
