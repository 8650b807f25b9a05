import { type KeyObject, X509Certificate } from 'node:crypto';
import { Fault } from '../base/fault.ts';
import { pathLenConstraint } from './basic-constraints.ts';

const maxChainLength = 10;

function untrusted(why: string, cause?: unknown): Fault {
  return new Fault('unauthenticated', `token certificate chain: ${why}`, cause ? { cause } : {});
}

/** Every certificate of a PEM bundle, as distribution reads `rootcertbundle` (other blocks are skipped). */
export function parseCertificateBundle(pem: string, where: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Fault('invalid-argument', `${where}: certificate ${index + 1} does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}

/**
 * The leaf's public key when a JWS `x5c` chain (base64 DER, leaf first) leads to one of `roots`, as distribution's
 * `parseAndVerifyCertChain` (Go's x509 Verify) decides: each link's issuer name and signature checked, issuers
 * must be CAs and allow, by their pathLenConstraint, the CAs below them, every certificate used must be within its
 * validity; a leaf that is itself a root is trusted.
 */
export function verifyCertificateChain(x5c: unknown, roots: readonly X509Certificate[], now: Date): KeyObject {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > maxChainLength) throw untrusted('want 1 to 10 certificates');
  const chain = x5c.map((entry, index) => {
    if (typeof entry !== 'string') throw untrusted(`entry ${index} is not a string`);
    try {
      return new X509Certificate(Buffer.from(entry, 'base64'));
    } catch (err) {
      throw untrusted(`entry ${index} does not parse`, err);
    }
  });
  const intermediates = chain.slice(1);
  let current = chain[0];
  for (let depth = 0; depth <= intermediates.length; depth++) {
    checkValidity(current, now);
    if (roots.some((root) => root.raw.equals(current.raw))) return chain[0].publicKey;
    const root = roots.find((r) => signs(r, current));
    if (root) {
      checkValidity(root, now);
      checkPathLength(root, depth);
      return chain[0].publicKey;
    }
    const next = intermediates.find((c) => signs(c, current));
    if (!next) break;
    checkPathLength(next, depth);
    current = next;
  }
  throw untrusted('it does not lead to a trusted root');
}

function signs(issuer: X509Certificate, subject: X509Certificate): boolean {
  return issuer.ca && subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
}

/** `below`: the CA certificates between this issuer and the leaf, which its pathLenConstraint bounds. */
function checkPathLength(issuer: X509Certificate, below: number): void {
  let limit: number | undefined;
  try {
    limit = pathLenConstraint(issuer.raw);
  } catch (err) {
    throw untrusted(`certificate "${issuer.subject.replace(/\n/g, ', ')}" has unreadable extensions`, err);
  }
  if (limit !== undefined && below > limit) throw untrusted(`certificate "${issuer.subject.replace(/\n/g, ', ')}" allows ${limit} CAs below it, the chain has ${below} (path length constraint exceeded)`);
}

function checkValidity(cert: X509Certificate, now: Date): void {
  if (now < cert.validFromDate || now > cert.validToDate) throw untrusted(`certificate "${cert.subject.replace(/\n/g, ', ')}" is not valid now`);
}
