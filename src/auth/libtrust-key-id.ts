import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * docker/libtrust's key ID, the `kid` registry:2 (distribution 2.x) and docker_auth use: the first 240 bits of the
 * SHA-256 of the DER SubjectPublicKeyInfo in base32, as 12 groups of 4 joined by ':'
 * (`ABCD:EFGH:…`). registry:2 looks a token's `kid` up among the keys of its `rootcertbundle` by this ID.
 */
export function libtrustKeyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  return base32(digest).match(/.{4}/g)?.join(':') ?? '';
}

/** RFC 4648 base32 without padding (30 bytes make exactly 48 characters, so libtrust's IDs never pad). */
function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += base32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}
