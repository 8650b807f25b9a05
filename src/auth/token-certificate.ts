import { execFileSync } from 'node:child_process';
import { type KeyObject, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Fault } from '../base/fault.ts';
import { tokenKeyFile } from './token-keys.ts';

export const tokenCertFile = 'token.crt';

const validDays = 3650;
// Renewed this long before it expires: registry:2 reads its bundle only at start.
const renewBeforeMs = 30 * 24 * 3600 * 1000;

/**
 * `<dir>/token.crt`: a self-signed certificate for the token signing key, what registry:2's
 * `auth.token.rootcertbundle` (and docker_auth's consumers) want. Made again whenever the key changed or it nears
 * its end, through the `openssl` CLI (node:crypto cannot build X.509); written aside and renamed into place, so a
 * registry and a token server starting together never read half a file. Returns the PEM.
 */
export function ensureTokenCertificate(dir: string, publicKey: KeyObject, options: { now?: Date; openssl?: string } = {}): string {
  const path = join(dir, tokenCertFile);
  const now = options.now ?? new Date();
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current !== undefined && stillGood(current, publicKey, now)) return current;
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const args = ['req', '-x509', '-new', '-key', join(dir, tokenKeyFile), '-sha256', '-days', String(validDays), '-subj', '/CN=wharf token signer', '-out', temp];
  try {
    execFileSync(options.openssl ?? 'openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // Public, and read by registry:2 running as another user.
    chmodSync(temp, 0o644);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Fault('unavailable', `cannot write ${path}: openssl req failed: ${stderr || (err as Error).message}`, { cause: err });
  }
  return readFileSync(path, 'utf8');
}

function stillGood(pem: string, publicKey: KeyObject, now: Date): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.publicKey.equals(publicKey) && cert.validToDate.getTime() - now.getTime() > renewBeforeMs;
  } catch {
    return false;
  }
}
