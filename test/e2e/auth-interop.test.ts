import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { importBusybox } from '../support/busybox.ts';
import { startDistribution } from '../support/distribution.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { runOk } from '../support/run.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

// The seed's deployment is registry:2 + docker_auth: wharf's token server stands in for docker_auth in front of a
// real registry:2, wharf's registry stands in for registry:2 behind an outside token issuer, and docker search
// works through dockerd against token auth.
describe('interop with registry:2 and an outside token issuer', () => {
  let dockerd: Dockerd;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-auth-interop-'));
    dockerd = await startDockerd();
    await importBusybox(dockerd, 'busybox:interop');
  });

  after(async () => {
    await dockerd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function addUser(root: string, name: string, password: string): Promise<void> {
    await runOk(wharfBin, ['user', 'add', name, '--password-stdin', '--root', root], { input: `${password}\n` });
  }

  /** A token server run alone on its own root (wharf as docker_auth), with one user. */
  async function tokenServer(name: string, config: { algorithm?: 'ES256' | 'RS256' } = {}): Promise<{ wharf: TestWharf; root: string; bundle: string }> {
    const root = join(dir, name);
    await addUser(root, 'alice', 'alice-secret');
    const bundle = join(dir, `${name}-bundle.pem`);
    writeFileSync(bundle, await runOk(wharfBin, ['cert', 'token', '--root', root, ...(config.algorithm ? ['--config', algorithmConfig(config.algorithm)] : [])]));
    const wharf = await startTestWharf({ root, parts: ['token'], config: { auth: { mode: 'token', token: { addr: '127.0.0.1:0', ...config } } } });
    return { wharf, root, bundle };
  }

  function algorithmConfig(algorithm: string): string {
    const file = join(dir, `algorithm-${algorithm}.yaml`);
    writeFileSync(file, `auth:\n  token:\n    algorithm: ${algorithm}\n`);
    return file;
  }

  async function pushAndPull(host: string): Promise<void> {
    const ref = `${host}/alice/busybox:1`;
    await dockerd.dockerOk(['login', '-u', 'alice', '--password-stdin', host], { input: 'alice-secret\n' });
    await dockerd.dockerOk(['tag', 'busybox:interop', ref]);
    assert.match(await dockerd.dockerOk(['push', ref]), /digest: sha256:/);
    const foreign = `${host}/bob/busybox:1`;
    await dockerd.dockerOk(['tag', 'busybox:interop', foreign]);
    const denied = await dockerd.docker(['push', foreign]);
    assert.notEqual(denied.code, 0, 'the token server grants alice no push outside alice/');
    assert.match(denied.stderr, /denied|unauthorized|insufficient/i);
    await dockerd.dockerOk(['rmi', ref, foreign]);
    await dockerd.dockerOk(['pull', ref]);
    await dockerd.dockerOk(['rmi', ref]);
    await dockerd.dockerOk(['logout', host]);
  }

  for (const algorithm of ['ES256', 'RS256'] as const) {
    test(`registry:2 with rootcertbundle = wharf's token certificate trusts wharf's ${algorithm} tokens: docker login, push, pull`, async () => {
      const issuer = await tokenServer(`issuer-${algorithm}`, { algorithm });
      assert.equal(readFileSync(issuer.bundle, 'utf8').trim(), readFileSync(join(issuer.root, 'auth', 'token.crt'), 'utf8').trim(), 'the file beside the key');
      const registry = await startDistribution({
        token: { realm: `${issuer.wharf.url}/auth/token`, service: 'wharf-registry', issuer: 'wharf', rootCertBundle: issuer.bundle },
      });
      try {
        const basic = `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`;
        const answer = await fetch(`${issuer.wharf.url}/auth/token?service=wharf-registry`, { headers: { authorization: basic } });
        const { token } = (await answer.json()) as { token: string };
        assert.equal(decodeProtectedHeader(token).alg, algorithm);
        assert.match(String(decodeProtectedHeader(token).kid), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/, 'a libtrust key ID');
        assert.equal((await fetch(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
        await pushAndPull(registry.host);
      } finally {
        await registry.close();
        await issuer.wharf.close();
      }
    });
  }

  test('wharf\'s registry trusts an outside issuer\'s tokens by auth.token.rootCertBundle, realm pointing there', async () => {
    const issuer = await tokenServer('outside-issuer', { algorithm: 'RS256' });
    const registry = await startTestWharf({
      config: { auth: { mode: 'token', token: { realm: `${issuer.wharf.url}/auth/token`, rootCertBundle: issuer.bundle } } },
    });
    try {
      const challenge = (await fetch(`${registry.url}/v2/`)).headers.get('www-authenticate');
      assert.equal(challenge, `Bearer realm="${issuer.wharf.url}/auth/token",service="wharf-registry"`);
      await pushAndPull(registry.host);
    } finally {
      await registry.close();
      await issuer.wharf.close();
    }
  });

  test('docker search through dockerd against a token-auth wharf, signed in with an identity token', async () => {
    const root = join(dir, 'search-root');
    await addUser(root, 'alice', 'alice-secret');
    const wharf = await startTestWharf({ root, config: { auth: { mode: 'token' } } });
    try {
      const ref = `${wharf.host}/alice/findme:1`;
      await dockerd.dockerOk(['login', '-u', 'alice', '--password-stdin', wharf.host], { input: 'alice-secret\n' });
      const config = JSON.parse(readFileSync(join(String(dockerd.env.DOCKER_CONFIG), 'config.json'), 'utf8'));
      assert.ok(config.auths[wharf.host].identitytoken, 'the login stored an identity token, so search asks for registry:catalog:search');
      await dockerd.dockerOk(['tag', 'busybox:interop', ref]);
      await dockerd.dockerOk(['push', ref]);
      const found = await dockerd.dockerOk(['search', '--format', '{{.Name}}', `${wharf.host}/findme`]);
      assert.deepEqual(found.trim().split('\n'), ['alice/findme']);
      await dockerd.dockerOk(['logout', wharf.host]);
      await dockerd.dockerOk(['rmi', ref]);
    } finally {
      await wharf.close();
    }
  });
});
