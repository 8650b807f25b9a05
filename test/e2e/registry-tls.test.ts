import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRandomOciLayout } from '../support/busybox.ts';
import { runOk } from '../support/run.ts';
import { skopeo, skopeoOk } from '../support/skopeo.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

// `wharf cert generate` makes a CA and a server certificate; skopeo verifies wharf's TLS against that CA.
describe('TLS with a generated CA', () => {
  let dir: string;
  let wharf: TestWharf;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-tls-'));
    await runOk(wharfBin, ['cert', 'generate', '--out', join(dir, 'certs'), '--host', '127.0.0.1', 'localhost']);
    wharf = await startTestWharf({ config: { registry: { tls: { cert: join(dir, 'certs', 'server.crt'), key: join(dir, 'certs', 'server.key') } } } });
    mkdirSync(join(dir, 'trust'));
    copyFileSync(join(dir, 'certs', 'ca.crt'), join(dir, 'trust', 'ca.crt'));
    await buildRandomOciLayout(join(dir, 'image'), { layerBytes: 64 * 1024 });
  });

  after(async () => {
    await wharf.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the registry answers https and skopeo pushes with verification on', async () => {
    assert.match(wharf.url, /^https:\/\//);
    await skopeoOk(['copy', '--dest-cert-dir', join(dir, 'trust'), `oci:${join(dir, 'image')}:latest`, `docker://${wharf.host}/tls/app:v1`]);
    const inspect = JSON.parse(await skopeoOk(['inspect', '--cert-dir', join(dir, 'trust'), `docker://${wharf.host}/tls/app:v1`]));
    assert.deepEqual(inspect.RepoTags, ['v1']);
  });

  test('a client that does not trust the CA is refused', async () => {
    const result = await skopeo(['inspect', `docker://${wharf.host}/tls/app:v1`]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /certificate|x509/i);
  });
});
