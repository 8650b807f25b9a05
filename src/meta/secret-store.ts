/**
 * Named secrets shared by every process on one metadata backend, so what one replica signs another verifies, and
 * a restart keeps it (migration scope 'auth', table auth_secrets). A secret is generated once, by whichever
 * process asks first; a concurrent first ask gets the same one (insert-if-absent, then read). Never log a value.
 */
export interface SecretStore {
  /** The 32-byte secret stored under `name`, generated on the first call from any process. */
  secret(name: string): Promise<Buffer>;
}

/** Bytes of a generated secret (an HMAC-SHA256 key's block-size-safe length). */
export const secretBytes = 32;
