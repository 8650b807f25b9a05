import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/ports.ts';
import { buildBusyboxRootfsTar, runDocker, startTestEngine, type TestEngine } from './engine-harness.ts';
import { pushImage, startDistribution, type Distribution, type PushedImage } from './engine-registry.ts';

/**
 * dockerd's registry-mirrors on wharf's engine, driven by the real docker CLI. Docker Hub is unreachable here, so a
 * pull of `busybox` that succeeds came from a mirror; each mirror holds its own push of busybox (the config's
 * `created` differs), so the image ID says which one served it.
 */
describe('engine.registryMirrors: docker pull busybox through mirrors', () => {
  let good: Distribution;
  let locked: Distribution;
  let empty: Distribution;
  let failing: { url: string; authorizations: (string | undefined)[]; server: Server };
  let fromGood: PushedImage;
  let fromLocked: PushedImage;
  let downUrl: string;
  let single: TestEngine;
  let chain: TestEngine;

  before(async () => {
    good = await startDistribution();
    locked = await startDistribution({ user: { name: 'alice', password: 's3cret' } });
    empty = await startDistribution();
    failing = await startFailingMirror();
    downUrl = `http://127.0.0.1:${await freePort()}`;
    single = await startTestEngine({ engine: { registryMirrors: [good.url] } });
    const base = readFileSync(await buildBusyboxRootfsTar(single.root));
    fromGood = await pushImage(good.host, 'library/busybox', 'latest', [base]);
    fromLocked = await pushImage(locked.host, 'library/busybox', 'latest', [base], { auth: 'alice:s3cret' });
    // down (refused), 503, 404 (empty), 401 without credentials, then the one that serves anyone.
    chain = await startTestEngine({ engine: { registryMirrors: [downUrl, failing.url, `${empty.url}/`, locked.url, good.url] } });
  });
  after(async () => {
    await single?.close();
    await chain?.close();
    for (const registry of [good, locked, empty]) await registry?.close();
    failing?.server.close();
  });

  test('docker info lists the mirrors as dockerd does, with a trailing slash', async () => {
    const info = await single.docker(['info']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(` Registry Mirrors:\n  ${good.url}/\n`));
    const mirrors = await chain.docker(['info', '-f', '{{json .RegistryConfig.Mirrors}}']);
    assert.deepEqual(JSON.parse(mirrors.stdout), [`${downUrl}/`, `${failing.url}/`, `${empty.url}/`, `${locked.url}/`, `${good.url}/`]);
    const hub = await chain.docker(['info', '-f', '{{json (index .RegistryConfig.IndexConfigs "docker.io")}}']);
    assert.deepEqual(JSON.parse(hub.stdout), { Name: 'docker.io', Mirrors: JSON.parse(mirrors.stdout), Secure: true, Official: true });
  });

  test('docker pull busybox comes from the one mirror (docker.io is unreachable) and runs', async () => {
    const pull = await single.docker(['pull', 'busybox'], { timeoutMs: 120_000 });
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /^Using default tag: latest\nlatest: Pulling from library\/busybox\n/);
    assert.match(pull.stdout, new RegExp(`Digest: ${fromGood.manifestDigest}\n`));
    assert.match(pull.stdout, /Status: Downloaded newer image for busybox:latest\ndocker\.io\/library\/busybox:latest\n$/);
    const inspect = await single.docker(['image', 'inspect', '-f', '{{.Id}} {{index .RepoDigests 0}}', 'busybox']);
    assert.equal(inspect.stdout.trim(), `${fromGood.configDigest} busybox@${fromGood.manifestDigest}`);
    const run = await single.docker(['run', '--rm', 'busybox', 'echo', 'mirrored']);
    assert.equal(run.stdout, 'mirrored\n', run.stderr);
  });

  test('mirrors that are down, answer 503, lack the image or refuse anonymous pulls pass it on to the next', async () => {
    const pull = await chain.docker(['pull', 'busybox'], { timeoutMs: 120_000 });
    assert.equal(pull.code, 0, pull.stderr);
    const id = await chain.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox']);
    assert.equal(id.stdout.trim(), fromGood.configDigest, 'served by the last mirror');
    assert.ok(failing.authorizations.length > 0, 'the 503 mirror was tried');
    assert.deepEqual(failing.authorizations.filter(Boolean), [], 'no credentials were sent unasked');
  });

  test('the Docker Hub credentials of the pull go to a mirror that asks for them, and to no other', async () => {
    const dockerConfig = join(chain.root, 'hub-login');
    mkdirSync(dockerConfig, { recursive: true });
    const auth = Buffer.from('alice:s3cret').toString('base64');
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth } } }));
    failing.authorizations.length = 0;
    const env = { ...chain.env, DOCKER_CONFIG: dockerConfig };
    assert.equal((await runDocker(['rmi', 'busybox'], env)).code, 0);
    const pull = await runDocker(['pull', 'busybox'], env, { timeoutMs: 120_000 });
    assert.equal(pull.code, 0, pull.stderr);
    const id = await chain.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox']);
    assert.equal(id.stdout.trim(), fromLocked.configDigest, 'served by the mirror that asked for credentials');
    assert.ok(failing.authorizations.length > 0);
    assert.deepEqual(failing.authorizations.filter(Boolean), [], 'the mirror that did not ask got no credentials');
  });

  test('when every mirror fails, the pull ends with Docker Hub’s own error', async () => {
    const pull = await chain.docker(['pull', 'wharf-test/absent'], { timeoutMs: 120_000 });
    assert.equal(pull.code, 1, pull.stdout);
    // Unreachable here; where Docker Hub answers, it refuses the unknown repository.
    assert.match(
      pull.stderr,
      /^Error response from daemon: (Get "https:\/\/registry-1\.docker\.io\/v2\/wharf-test\/absent\/manifests\/latest": |pull access denied for wharf-test\/absent)/,
    );
  });
});

/** A mirror that answers 503 to everything and records the Authorization header of each request. */
async function startFailingMirror(): Promise<{ url: string; authorizations: (string | undefined)[]; server: Server }> {
  const authorizations: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, authorizations, server };
}
