import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { loadConfig } from '../base/config.ts';
import { openDatabase } from '../meta/sqlite-database.ts';
import { registerAuthCommands } from './cli.ts';
import { libtrustKeyId } from './libtrust-key-id.ts';
import { ensureTokenCertificate, tokenCertFile } from './token-certificate.ts';
import { loadOrCreateTokenKeys, tokenKeyFile } from './token-keys.ts';
import { sqliteMeta } from '../main/open-meta.ts';

test('libtrust key IDs match the ones computed with openssl and coreutils base32', () => {
  // openssl pkey -pubin -outform DER | sha256sum | first 30 bytes | base32, grouped by 4.
  const ec = createPublicKey(`-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgm9UTuEoue5jCYFnKf/UrVe7eZxJ
9jXU1j53UYisn803zIYtpjuq2TxXeYqyq8snqvV3BiXFzYCJK/uCQEYL2Q==
-----END PUBLIC KEY-----`);
  assert.equal(libtrustKeyId(ec), '6AIQ:RHZ7:P2F2:W6M6:BNEM:2QDJ:MVCT:UZPA:6JJ5:ZF4V:PTTF:4JLU');
  const rsa = createPublicKey(`-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAp2cTK0mphjozWsM0wIh2
x8AmDPKJMwidIv6kI4hqKck0r5V4jndp0zL/i/xgyW/55FtxJZlVkga6UvdYHs9k
QltS5hYjRuM7RMS/9zjl9if25R1dEzo8TYb+yrKjgFQKV+cGrALEvFaobI8GAvQF
qLmLV54DWAGOK9z0PTSKDZWeVk8Qlgs7GlrhhP319yUAf40xQQsGcUNR/33mANtW
fsOkpjT7PhmFU7ZVd+E8R/v61MgZL8BdmZ0H2cx6dX5ato6p5KDaFZJ54ayaMjep
bQVQr+M88pERpFxJNoucSbc4R6JcHKM33+bv6+UbI1NIZlU7oS1oIa0snezfmckz
QwIDAQAB
-----END PUBLIC KEY-----`);
  assert.equal(libtrustKeyId(rsa), 'J4ZK:GDHX:KW75:KBDF:EHCS:6PBG:SUBT:4FGE:MPQS:OE3U:IPBP:MJRT');
});

describe('the token signing certificate', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-token-cert-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('is made for the key, kept while it fits, and made again when the key changes', async () => {
    const keys = await loadOrCreateTokenKeys(dir);
    const pem = ensureTokenCertificate(dir, keys.publicKey);
    const cert = new X509Certificate(pem);
    assert.ok(cert.publicKey.equals(keys.publicKey));
    assert.ok(cert.ca && cert.checkIssued(cert) && cert.verify(keys.publicKey), 'self-signed, usable as a root of an x5c chain');
    assert.ok(cert.validToDate.getTime() - Date.now() > 9 * 365 * 24 * 3600 * 1000);
    assert.equal(statSync(join(dir, tokenCertFile)).mode & 0o777, 0o644);
    assert.equal(ensureTokenCertificate(dir, keys.publicKey), pem, 'kept as it is');

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, tokenKeyFile), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const rotated = await loadOrCreateTokenKeys(dir);
    const again = new X509Certificate(ensureTokenCertificate(dir, rotated.publicKey));
    assert.ok(again.publicKey.equals(rotated.publicKey));
    assert.equal(libtrustKeyId(again.publicKey), rotated.kid, 'registry:2 finds the tokens\' kid among the bundle\'s keys');
  });

  test('one near its end is renewed; a missing openssl is a clear error', async () => {
    const keys = await loadOrCreateTokenKeys(dir);
    const pem = ensureTokenCertificate(dir, keys.publicKey);
    const nearEnd = new Date(new X509Certificate(pem).validToDate.getTime() - 24 * 3600 * 1000);
    assert.throws(() => ensureTokenCertificate(dir, keys.publicKey, { now: nearEnd, openssl: '/nonexistent/openssl' }), /cannot write .*token\.crt: openssl req failed/);
    assert.equal(readFileSync(join(dir, tokenCertFile), 'utf8'), pem, 'the old one stays until a new one is written');
    assert.notEqual(ensureTokenCertificate(dir, keys.publicKey, { now: nearEnd }), pem);
  });

  test('`wharf cert token` prints the certificate of the configured key directory, making key and certificate', async () => {
    const root = join(dir, 'root');
    const lines: string[] = [];
    const program = new Command().exitOverride();
    const open = async (flags: { root?: string }) => {
      const stores = sqliteMeta(openDatabase(join(dir, 'meta.db')), 'test');
      return { config: loadConfig({ overrides: { root: flags.root ?? root, auth: { token: { algorithm: 'RS256' } } } }), stores, close: () => stores.close() };
    };
    registerAuthCommands(program, open, (c) => c.option('--root <dir>'), { stdin: Readable.from([]), out: (l) => lines.push(l), now: () => new Date() });
    await program.parseAsync(['node', 'wharf', 'cert', 'token', '--root', root]);
    const printed = new X509Certificate(lines.join('\n'));
    const keys = await loadOrCreateTokenKeys(join(root, 'auth'));
    assert.equal(keys.alg, 'RS256');
    assert.ok(printed.publicKey.equals(keys.publicKey));
    assert.equal(lines.join('\n'), readFileSync(join(root, 'auth', tokenCertFile), 'utf8').trimEnd());
  });
});
