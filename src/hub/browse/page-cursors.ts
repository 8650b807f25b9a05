import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Fault } from '../../base/fault.ts';

/** The SecretStore name of the key sealing list cursors: replicas on one database read each other's. */
export const cursorSecret = 'hub-cursor-key';

/** Longest cursor taken: a sealed name of 255 bytes is 380 characters. */
export const maxCursorLength = 512;

const ivBytes = 12;
const tagBytes = 16;

/**
 * Opaque `next`/`last` cursors of a list the ACL filters (GET /api/v1/repositories): the position is a name the
 * caller may not be allowed to see, so it is sealed (AES-256-GCM under a key from the SecretStore) and only this
 * service can open it. A cursor that does not open (tampered, or sealed under another key) is 400 INVALID.
 */
export class PageCursors {
  readonly #loadKey: () => Promise<Buffer>;
  #key: Promise<Buffer> | undefined;

  constructor(loadKey: () => Promise<Buffer>) {
    this.#loadKey = loadKey;
  }

  async seal(position: string): Promise<string> {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', await this.#keyOnce(), iv);
    const sealed = Buffer.concat([cipher.update(position, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  async open(cursor: string): Promise<string> {
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length < ivBytes + tagBytes || bytes.toString('base64url') !== cursor) throw staleCursor();
    const decipher = createDecipheriv('aes-256-gcm', await this.#keyOnce(), bytes.subarray(0, ivBytes));
    decipher.setAuthTag(bytes.subarray(ivBytes, ivBytes + tagBytes));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(ivBytes + tagBytes)), decipher.final()]).toString('utf8');
    } catch {
      throw staleCursor();
    }
  }

  // A failed load is not kept: the next request asks the store again.
  #keyOnce(): Promise<Buffer> {
    this.#key ??= this.#loadKey().catch((err: unknown) => {
      this.#key = undefined;
      throw err;
    });
    return this.#key;
  }
}

function staleCursor(): Fault {
  return new Fault('invalid-argument', 'last: stale cursor (not the next of a page of this registry): start the list again');
}
