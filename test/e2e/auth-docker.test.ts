import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildBusyboxRootfsTar, buildRandomOciLayout } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { runOk } from '../support/run.ts';
import { skopeo, skopeoOk } from '../support/skopeo.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

// Real clients against both auth modes: a private dockerd (docker login, push, pull) and skopeo --creds.
describe('docker login, push and pull with auth on', () => {
  let dockerd: Dockerd;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-auth-e2e-'));
    dockerd = await startDockerd();
    const tar = await buildBusyboxRootfsTar(dir);
    await dockerd.dockerOk(['import', '--change', 'CMD ["sh"]', tar, 'busybox:auth']);
  });

  after(async () => {
    await dockerd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function addUser(root: string, name: string, password: string): Promise<void> {
    await runOk(wharfBin, ['user', 'add', name, '--password-stdin', '--root', root], { input: `${password}\n` });
  }

  async function exercise(wharf: TestWharf, user: string, password: string): Promise<void> {
    const ref = `${wharf.host}/${user}/busybox:1`;
    const anonymous = await dockerd.docker(['push', `${wharf.host}/${user}/busybox:anon`]);
    assert.notEqual(anonymous.code, 0);

    const wrong = await dockerd.docker(['login', '-u', user, '--password-stdin', wharf.host], { input: 'wrong-password\n' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /unauthorized|incorrect|401/i);

    await dockerd.dockerOk(['login', '-u', user, '--password-stdin', wharf.host], { input: `${password}\n` });
    await dockerd.dockerOk(['tag', 'busybox:auth', ref]);
    const push = await dockerd.dockerOk(['push', ref]);
    assert.match(push, /digest: sha256:/);

    const foreign = `${wharf.host}/someone-else/busybox:1`;
    await dockerd.dockerOk(['tag', 'busybox:auth', foreign]);
    const elsewhere = await dockerd.docker(['push', foreign]);
    assert.notEqual(elsewhere.code, 0, 'a user pushes only under their own namespace by default');
    assert.match(elsewhere.stderr, /denied|unauthorized|insufficient/i);
    await dockerd.dockerOk(['rmi', foreign]);

    await dockerd.dockerOk(['rmi', ref]);
    await dockerd.dockerOk(['pull', ref]);

    await skopeoOk(['inspect', '--tls-verify=false', '--creds', `${user}:${password}`, `docker://${ref}`]);
    const bad = await skopeo(['inspect', '--tls-verify=false', '--creds', `${user}:nope`, `docker://${ref}`]);
    assert.notEqual(bad.code, 0);
    await dockerd.dockerOk(['logout', wharf.host]);
    await dockerd.docker(['rmi', ref]);
  }

  test('token auth: docker login fetches tokens from the built-in token server', async () => {
    const root = join(dir, 'token-root');
    await addUser(root, 'alice', 'alice-secret');
    const wharf = await startTestWharf({ root, config: { auth: { mode: 'token' } } });
    try {
      const challenge = (await fetch(`${wharf.url}/v2/`)).headers.get('www-authenticate');
      assert.match(challenge ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/auth\/token",service="wharf-registry"/);
      await exercise(wharf, 'alice', 'alice-secret');
    } finally {
      await wharf.close();
    }
  });

  test('robot tokens with skopeo and docker, anonymous pulls, and revocation, against token auth', async () => {
    const root = join(dir, 'robot-root');
    await addUser(root, 'carol', 'carol-secret');
    const robot = async (scope: string) => (await runOk(wharfBin, ['token', 'create', '--user', 'carol', '--scope', scope, '--root', root])).trim();
    const pusher = await robot('repository:carol/ci:pull,push');
    const puller = await robot('repository:carol/*:pull');
    const layout = join(dir, 'robot-layout');
    await buildRandomOciLayout(layout, { layerBytes: 32 * 1024 });
    const wharf = await startTestWharf({ root, config: { auth: { mode: 'token', anonymousPull: true } } });
    try {
      const ci = `${wharf.host}/carol/ci:1`;
      await dockerd.dockerOk(['login', '-u', 'carol', '--password-stdin', wharf.host], { input: `${pusher}\n` });
      await dockerd.dockerOk(['tag', 'busybox:auth', ci]);
      await dockerd.dockerOk(['push', ci]);
      await dockerd.dockerOk(['logout', wharf.host]);
      const outside = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `carol:${pusher}`, `oci:${layout}:latest`, `docker://${wharf.host}/carol/other:1`]);
      assert.notEqual(outside.code, 0, 'the robot is held to its scope even inside its user\'s namespace');
      assert.match(outside.stderr, /denied|unauthorized|insufficient/i);

      await skopeoOk(['inspect', '--tls-verify=false', '--no-creds', `docker://${ci}`]);
      const anonymousPush = await skopeo(['copy', '--dest-tls-verify=false', '--dest-no-creds', `oci:${layout}:latest`, `docker://${wharf.host}/carol/ci:anon`]);
      assert.notEqual(anonymousPush.code, 0, 'anonymous pull does not mean anonymous push');

      await dockerd.dockerOk(['rmi', ci]);
      await dockerd.dockerOk(['login', '-u', 'carol', '--password-stdin', wharf.host], { input: `${puller}\n` });
      await dockerd.dockerOk(['pull', ci]);
      await dockerd.dockerOk(['tag', ci, `${wharf.host}/carol/ci:2`]);
      const pushWithPuller = await dockerd.docker(['push', `${wharf.host}/carol/ci:2`]);
      assert.notEqual(pushWithPuller.code, 0, 'a pull-only robot cannot push');
      assert.match(pushWithPuller.stderr, /denied|unauthorized|insufficient/i);
      await dockerd.dockerOk(['logout', wharf.host]);

      await runOk(wharfBin, ['token', 'revoke', pusher.split('_')[1], '--root', root]);
      const revoked = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `carol:${pusher}`, `oci:${layout}:latest`, `docker://${wharf.host}/carol/ci:3`]);
      assert.notEqual(revoked.code, 0, 'a revoked robot token stops working while the server runs');
      assert.match(revoked.stderr, /unauthorized|401/i);
      await dockerd.docker(['rmi', ci, `${wharf.host}/carol/ci:2`]);
    } finally {
      await wharf.close();
    }
  });

  test('htpasswd auth: docker login with Basic credentials from an htpasswd -B file', async () => {
    const root = join(dir, 'htpasswd-root');
    const file = join(dir, 'htpasswd');
    writeFileSync(file, await runOk('htpasswd', ['-nbB', 'bob', 'bob-secret']));
    const wharf = await startTestWharf({ root, config: { auth: { mode: 'htpasswd', htpasswd: file } } });
    try {
      const challenge = (await fetch(`${wharf.url}/v2/`)).headers.get('www-authenticate');
      assert.equal(challenge, 'Basic realm="wharf"');
      await exercise(wharf, 'bob', 'bob-secret');
    } finally {
      await wharf.close();
    }
  });
});
