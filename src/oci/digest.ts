import { createHash, type Hash } from 'node:crypto';
import { Fault } from '../base/fault.ts';

export type DigestAlgorithm = 'sha256' | 'sha512';

const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** A validated digest such as `sha256:<64 lowercase hex>`. */
export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  readonly value: string;
}

const digestPattern = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Parses a digest string; throws invalid-argument (code DIGEST_INVALID) when it is malformed or unsupported. */
export function parseDigest(input: string): Digest {
  const match = digestPattern.exec(input);
  if (!match) throw new Fault('invalid-argument', `invalid digest "${truncate(input)}"`, { code: 'DIGEST_INVALID' });
  const algorithm = match[1] as DigestAlgorithm;
  const hex = match[2];
  if (!(algorithm in hexLength)) {
    throw new Fault('invalid-argument', `unsupported digest algorithm "${truncate(algorithm)}"`, { code: 'DIGEST_INVALID' });
  }
  if (hex.length !== hexLength[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new Fault('invalid-argument', `invalid ${algorithm} digest "${truncate(input)}"`, { code: 'DIGEST_INVALID' });
  }
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}

export function isDigest(input: string): boolean {
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Incremental hasher used while streaming a blob. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  /** The digest so far; the hasher stays usable (copy), so resumable uploads can keep feeding it. */
  digest(): string {
    return `${this.algorithm}:${this.#hash.copy().digest('hex')}`;
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
