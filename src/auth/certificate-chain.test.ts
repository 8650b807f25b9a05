import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathLenConstraint } from './basic-constraints.ts';
import { verifyCertificateChain } from './certificate-chain.ts';

// openssl writes the PKI: node:crypto cannot write X.509.
const dir = mkdtempSync(join(tmpdir(), 'wharf-chain-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function root(name: string, constraints: string): X509Certificate {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${name}`, '-days', '30',
    '-addext', `basicConstraints=critical,${constraints}`, '-addext', 'keyUsage=critical,keyCertSign', '-out', `${name}.crt`]);
  return new X509Certificate(readFileSync(join(dir, `${name}.crt`)));
}

function issue(name: string, issuer: string, extensions: string): string {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  return new X509Certificate(readFileSync(join(dir, `${name}.crt`))).raw.toString('base64');
}

const caExtensions = 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\n';
const leafExtensions = 'basicConstraints=CA:false\n';

test('pathLenConstraint reads basicConstraints from the DER', () => {
  assert.equal(pathLenConstraint(root('p0', 'CA:true,pathlen:0').raw), 0);
  assert.equal(pathLenConstraint(root('p3', 'CA:true,pathlen:3').raw), 3);
  assert.equal(pathLenConstraint(root('nolimit', 'CA:true').raw), undefined);
});

test('a chain with a CA below a pathlen:0 CA is refused, as openssl and Go refuse it', () => {
  const strict = root('strict', 'CA:true,pathlen:0');
  const intermediate = issue('sub-ca', 'strict', caExtensions);
  const leaf = issue('leaf-under-sub', 'sub-ca', leafExtensions);
  const direct = issue('leaf-direct', 'strict', leafExtensions);
  const now = new Date();
  assert.throws(() => verifyCertificateChain([leaf, intermediate], [strict], now), /path length constraint exceeded/);
  assert.ok(verifyCertificateChain([direct], [strict], now), 'a leaf signed by the pathlen:0 CA itself is fine');
});

test('a pathlen:0 intermediate may sign leaves but not another CA; pathlen:1 allows one CA below', () => {
  const top = root('top', 'CA:true,pathlen:1');
  const issuing = issue('issuing', 'top', 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign\n');
  const rogue = issue('rogue', 'issuing', caExtensions);
  const good = issue('good-leaf', 'issuing', leafExtensions);
  const bad = issue('bad-leaf', 'rogue', leafExtensions);
  const now = new Date();
  assert.ok(verifyCertificateChain([good, issuing], [top], now));
  assert.throws(() => verifyCertificateChain([bad, rogue, issuing], [top], now), /"CN=issuing" allows 0 CAs below it, the chain has 1/);
});
