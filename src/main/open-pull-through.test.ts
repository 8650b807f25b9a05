import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateCertificates } from '../auth/cert-generate.ts';
import { type Config, type ConfigInput, loadConfig } from '../base/config.ts';
import { isFault } from '../base/fault.ts';
import type { Upstreams } from '../registry/mirror/upstreams.ts';
import { pushTinyImage } from '../../test/support/tiny-image.ts';
import { startTestWharf, type TestWharf } from '../../test/support/wharf.ts';
import { upstreamsFromConfig } from './open-pull-through.ts';

function proxyConfig(proxy: NonNullable<ConfigInput['registry']>['proxy']): Config['registry']['proxy'] {
  return loadConfig({ overrides: { registry: { proxy } } }).registry.proxy;
}

function routed(upstreams: Upstreams, repository: string): [string, string] | undefined {
  const target = upstreams.resolve(repository);
  return target && [target.upstream.name, target.remoteName];
}

describe('upstreamsFromConfig', () => {
  test('upstreams are named by their prefix, the default one by its host; none configured is not enabled', () => {
    const upstreams = upstreamsFromConfig(proxyConfig({ upstreams: [{ prefix: '', url: 'http://127.0.0.1:5001' }, { prefix: 'hub/', url: 'https://registry-1.docker.io' }] }));
    assert.deepEqual(routed(upstreams, 'hub/busybox'), ['hub/', 'library/busybox']);
    assert.deepEqual(routed(upstreams, 'team/app'), ['127.0.0.1:5001', 'team/app']);
    assert.equal(upstreamsFromConfig(proxyConfig({})).enabled, false);
  });

  test('remoteUrl is the default upstream, after every prefix, named by its host', () => {
    const upstreams = upstreamsFromConfig(
      proxyConfig({ remoteUrl: 'https://registry-1.docker.io', username: 'alice', password: 'secret', upstreams: [{ prefix: 'quay/', url: 'https://quay.io' }] }),
    );
    assert.deepEqual(
      upstreams.all.map((u) => [u.name, u.url]),
      [
        ['quay/', 'https://quay.io'],
        ['registry-1.docker.io', 'https://registry-1.docker.io'],
      ],
    );
    assert.deepEqual(routed(upstreams, 'busybox'), ['registry-1.docker.io', 'library/busybox']);
    assert.deepEqual(routed(upstreams, 'quay/coreos/etcd'), ['quay/', 'coreos/etcd']);
  });

  test('an unreadable caFile, or one without a certificate, stops the start naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-upstreams-'));
    try {
      writeFileSync(join(dir, 'empty.pem'), 'nothing here\n');
      for (const [file, message] of [
        [join(dir, 'absent.pem'), /^registry\.proxy\.upstreams\.0\.caFile: cannot read .*absent\.pem: ENOENT/],
        [join(dir, 'empty.pem'), /^registry\.proxy\.upstreams\.0\.caFile: .*empty\.pem holds no PEM certificate$/],
      ] as const) {
        assert.throws(
          () => upstreamsFromConfig(proxyConfig({ upstreams: [{ prefix: 'x/', url: 'https://x.example', caFile: file }] })),
          (err) => isFault(err, 'invalid-argument') && message.test(err.message),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an https upstream', () => {
  let dir: string;
  let wharf: TestWharf;
  let digest: string;
  let caCert: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-upstreams-tls-'));
    const certs = generateCertificates({ out: dir, hosts: ['127.0.0.1'] });
    caCert = certs.caCert;
    // Pushed over plain http first (fetch would not trust the CA), then served over https from the same root.
    const root = join(dir, 'root');
    const plain = await startTestWharf({ root });
    digest = await pushTinyImage(plain.url, 'team/app', 'v1', 'tls');
    await plain.close();
    wharf = await startTestWharf({ root, config: { registry: { tls: { cert: certs.serverCert, key: certs.serverKey } } } });
  });
  after(async () => {
    await wharf?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('is verified against its caFile besides the bundled roots, and refused without it', async () => {
    const trusted = upstreamsFromConfig(proxyConfig({ upstreams: [{ prefix: 'tls/', url: wharf.url, caFile: caCert }] }));
    const target = trusted.resolve('tls/team/app');
    assert.ok(target);
    assert.equal((await target.upstream.getManifest(target.remoteName, 'v1'))?.digest, digest);
    const untrusted = upstreamsFromConfig(proxyConfig({ remoteUrl: wharf.url }));
    const plain = untrusted.resolve('team/app');
    assert.ok(plain);
    await assert.rejects(plain.upstream.headManifest(plain.remoteName, 'v1'), (err) => {
      assert.ok(isFault(err, 'unavailable'));
      assert.equal(err.code, 'UPSTREAM_UNAVAILABLE');
      assert.match(err.message, /^upstream 127\.0\.0\.1:\d+ unavailable: Head "https:.*": tls: failed to verify certificate: x509: certificate signed by unknown authority$/);
      return true;
    });
  });
});
