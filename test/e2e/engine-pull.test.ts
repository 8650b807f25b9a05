import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runOk } from '../support/run.ts';
import { startTestWharf, wharfBin, type TestWharf } from '../support/wharf.ts';
import { buildBusyboxRootfsTar, dockerBin, startTestEngine, type TestEngine } from './engine-harness.ts';
import { layerTar, pushImage, pushIndex, startDistribution, type Distribution, type PushedImage } from './engine-registry.ts';

describe('docker pull from a v2 registry', () => {
  let engine: TestEngine;
  let open: Distribution;
  let locked: Distribution;
  let app: PushedImage;

  before(async () => {
    engine = await startTestEngine();
    open = await startDistribution();
    locked = await startDistribution({ user: { name: 'alice', password: 's3cret' } });
    const base = readFileSync(await buildBusyboxRootfsTar(engine.root));
    const greeting = await layerTar({ 'hello.txt': 'pulled\n', 'tmp/a': 'a', 'usr/bin/.wh.wget': '' });
    const opaque = await layerTar({ 'tmp/.wh..wh..opq': '', 'tmp/b': 'b' });
    await pushImage(open.host, 'base/busybox', 'v1', [base]);
    app = await pushImage(open.host, 'team/app', 'v1', [base, greeting, opaque], { cmd: ['cat', '/hello.txt'] });
    await pushIndex(open.host, 'team/app', 'multi', app.manifestDigest, app.manifestSize);
    await pushImage(locked.host, 'private/app', 'v1', [base, greeting], { auth: 'alice:s3cret' });
  });
  after(async () => {
    await engine?.close();
    await open?.close();
    await locked?.close();
  });

  test('pull prints moby’s progress lines, then the reference; the image runs with its layers applied', async () => {
    const ref = `${open.host}/team/app:v1`;
    const pull = await engine.docker(['pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    const lines = pull.stdout.trim().split('\n');
    assert.equal(lines[0], 'v1: Pulling from team/app');
    for (const digest of app.layerDigests) assert.ok(lines.includes(`${digest.slice(7, 19)}: Pull complete`), pull.stdout);
    assert.ok(lines.includes(`Digest: ${app.manifestDigest}`));
    assert.ok(lines.includes(`Status: Downloaded newer image for ${ref}`));
    assert.equal(lines.at(-1), ref);
    const run = await engine.docker(['run', '--rm', ref]);
    assert.equal(run.stdout, 'pulled\n');
    const fs = await engine.docker(['run', '--rm', ref, 'sh', '-c', 'ls /tmp; test -e /usr/bin/wget || echo no-wget']);
    assert.equal(fs.stdout, 'b\nno-wget\n', 'whiteouts and opaque directories applied');
    const inspect = await engine.docker(['image', 'inspect', '-f', '{{.Id}} {{index .RepoDigests 0}}', ref]);
    assert.equal(inspect.stdout.trim(), `${app.configDigest} ${open.host}/team/app@${app.manifestDigest}`);
  });

  test('a second pull is up to date; shared layers already exist', async () => {
    const again = await engine.docker(['pull', `${open.host}/team/app:v1`]);
    assert.match(again.stdout, /Status: Image is up to date for/);
    const base = await engine.docker(['pull', `${open.host}/base/busybox:v1`]);
    assert.match(base.stdout, new RegExp(`${app.layerDigests[0].slice(7, 19)}: Already exists`));
  });

  test('a manifest list is narrowed to linux/amd64 and recorded by the index digest', async () => {
    const pull = await engine.docker(['pull', `${open.host}/team/app:multi`]);
    assert.equal(pull.code, 0, pull.stderr);
    const id = await engine.docker(['image', 'inspect', '-f', '{{.Id}}', `${open.host}/team/app:multi`]);
    assert.equal(id.stdout.trim(), app.configDigest);
  });

  test('docker run pulls an image it does not have', async () => {
    const run = await engine.docker(['run', '--rm', `${open.host}/team/app:multi`, 'echo', 'ran']);
    assert.equal(run.stdout, 'ran\n');
    await engine.docker(['rmi', '-f', `${open.host}/base/busybox:v1`]);
    const fresh = await engine.docker(['run', '--rm', `${open.host}/base/busybox:v1`, 'echo', 'auto']);
    assert.match(fresh.stderr, /Unable to find image '.*base\/busybox:v1' locally/);
    assert.equal(fresh.stdout.trim().split('\n').at(-1), 'auto');
  });

  test('unknown tags and repositories fail with moby’s messages', async () => {
    const tag = await engine.docker(['pull', `${open.host}/team/app:nope`]);
    assert.equal(tag.code, 1);
    assert.match(tag.stderr, new RegExp(`manifest for ${open.host}/team/app:nope not found: manifest unknown`));
    const repo = await engine.docker(['pull', `${open.host}/no/such:v1`]);
    assert.match(repo.stderr, /pull access denied for .*no\/such, repository does not exist or may require 'docker login'|not found/);
  });

  test('rmi of the last tag drops the repo digest and deletes the image', async () => {
    const multi = await engine.docker(['rmi', `${open.host}/team/app:multi`]);
    assert.equal(multi.stdout.trim(), `Untagged: ${open.host}/team/app:multi`);
    const last = await engine.docker(['rmi', `${open.host}/team/app:v1`]);
    const lines = last.stdout.trim().split('\n');
    assert.equal(lines[0], `Untagged: ${open.host}/team/app:v1`);
    assert.ok(lines.includes(`Untagged: ${open.host}/team/app@${app.manifestDigest}`), last.stdout);
    assert.ok(lines.includes(`Deleted: ${app.configDigest}`), last.stdout);
    assert.ok(lines.length > 4, 'layer snapshots no other image uses are deleted too');
  });

  test('a client that hangs up mid-pull leaves the engine able to pull again', async () => {
    const big = await layerTar({ blob: randomBytes(24 * 1024 * 1024) });
    await pushImage(open.host, 'team/big', 'v1', [big]);
    const ref = `${open.host}/team/big:v1`;
    const child = spawn(dockerBin, ['pull', ref], { env: engine.env, stdio: 'ignore' });
    await sleep(150);
    child.kill('SIGKILL');
    await sleep(300);
    const pull = await engine.docker(['pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal((await engine.docker(['image', 'inspect', '-f', '{{.Size}}', ref])).code, 0);
  });

  test('login checks credentials; pulls from an auth-enabled registry use them', async () => {
    const anonymous = await engine.docker(['pull', `${locked.host}/private/app:v1`]);
    assert.notEqual(anonymous.code, 0);
    const bad = await engine.docker(['login', locked.host, '-u', 'alice', '--password-stdin'], { input: 'wrong\n' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unauthorized|incorrect username or password/);
    const login = await engine.docker(['login', locked.host, '-u', 'alice', '--password-stdin'], { input: 's3cret\n' });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Login Succeeded/);
    const pull = await engine.docker(['pull', `${locked.host}/private/app:v1`]);
    assert.equal(pull.code, 0, pull.stderr);
    const run = await engine.docker(['run', '--rm', `${locked.host}/private/app:v1`, 'cat', '/hello.txt']);
    assert.equal(run.stdout, 'pulled\n');
  });
});

/** An engine, and a wharf registry with token auth on a root inside it, where `user` may sign in. */
async function engineWithTokenWharf(user: string, password: string): Promise<{ engine: TestEngine; wharf: TestWharf }> {
  const engine = await startTestEngine();
  const root = join(engine.root, 'registry-root');
  await runOk(wharfBin, ['user', 'add', user, '--password-stdin', '--root', root], { input: `${password}\n` });
  return { engine, wharf: await startTestWharf({ root, config: { auth: { mode: 'token' } } }) };
}

describe('docker pull from wharf’s own registry with token auth', () => {
  let engine: TestEngine;
  let wharf: TestWharf;

  before(async () => {
    ({ engine, wharf } = await engineWithTokenWharf('carol', 'carol-secret'));
    const base = readFileSync(await buildBusyboxRootfsTar(engine.root));
    await pushImage(wharf.host, 'carol/app', '1', [base], { auth: 'carol:carol-secret', cmd: ['echo', 'from-wharf'] });
  });
  after(async () => {
    await engine?.close();
    await wharf?.close();
  });

  test('anonymous pulls are refused; after docker login the engine answers the token challenge', async () => {
    const ref = `${wharf.host}/carol/app:1`;
    const anonymous = await engine.docker(['pull', ref]);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stderr, /pull access denied|unauthorized|authentication required/);
    const bad = await engine.docker(['login', wharf.host, '-u', 'carol', '--password-stdin'], { input: 'nope\n' });
    assert.notEqual(bad.code, 0);
    const login = await engine.docker(['login', wharf.host, '-u', 'carol', '--password-stdin'], { input: 'carol-secret\n' });
    assert.equal(login.code, 0, login.stderr);
    const pull = await engine.docker(['pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /Status: Downloaded newer image/);
    assert.equal((await engine.docker(['run', '--rm', ref])).stdout, 'from-wharf\n');
  });
});

describe('docker push from the engine', () => {
  let engine: TestEngine;
  let wharf: TestWharf;
  let open: Distribution;

  before(async () => {
    ({ engine, wharf } = await engineWithTokenWharf('dave', 'dave-secret'));
    open = await startDistribution();
    const imported = await engine.docker(['import', await buildBusyboxRootfsTar(engine.root), 'busybox']);
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(async () => {
    await engine?.close();
    await wharf?.close();
    await open?.close();
  });

  test('an imported image pushes with moby’s progress lines, then pulls back into a fresh engine', async () => {
    const ref = `${open.host}/team/busybox:v1`;
    assert.equal((await engine.docker(['tag', 'busybox', ref])).code, 0);
    const push = await engine.docker(['push', ref]);
    assert.equal(push.code, 0, push.stderr);
    const lines = push.stdout.trim().split('\n');
    assert.equal(lines[0], `The push refers to repository [${open.host}/team/busybox]`);
    const diffId = (await engine.docker(['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', ref])).stdout.trim();
    assert.ok(lines.includes(`${diffId.slice(7, 19)}: Pushed`), push.stdout);
    const digest = /^v1: digest: (sha256:[a-f0-9]{64}) size: \d+$/.exec(lines.at(-1) ?? '')?.[1];
    assert.ok(digest, push.stdout);
    assert.equal((await engine.docker(['image', 'inspect', '-f', '{{index .RepoDigests 0}}', ref])).stdout.trim(), `${open.host}/team/busybox@${digest}`);
    assert.equal((await engine.docker(['tag', 'busybox', `${open.host}/team/busybox:v2`])).code, 0);
    const all = await engine.docker(['push', '--all-tags', `${open.host}/team/busybox`]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, new RegExp(`${diffId.slice(7, 19)}: Layer already exists`));
    assert.match(all.stdout, /^v1: digest: sha256:[a-f0-9]{64} size: \d+$/m);
    assert.match(all.stdout, /^v2: digest: sha256:[a-f0-9]{64} size: \d+$/m);
    const fresh = await startTestEngine();
    try {
      const run = await fresh.docker(['run', '--rm', ref, 'echo', 'round trip']);
      assert.equal(run.stdout.trim().split('\n').at(-1), 'round trip', run.stderr);
      assert.equal((await fresh.docker(['image', 'inspect', '-f', '{{index .RepoDigests 0}}', ref])).stdout.trim(), `${open.host}/team/busybox@${digest}`);
    } finally {
      await fresh.close();
    }
  });

  test('a pulled image pushes its own manifest back, so the digest survives; auth and bad names answer as moby', async () => {
    const source = `${open.host}/team/busybox:v1`;
    const target = `${wharf.host}/dave/busybox:copy`;
    assert.equal((await engine.docker(['rmi', source])).code, 0);
    assert.equal((await engine.docker(['pull', source])).code, 0);
    const pulledDigest = (await engine.docker(['image', 'inspect', '-f', '{{index .RepoDigests 0}}', source])).stdout.trim().split('@')[1];
    assert.equal((await engine.docker(['tag', source, target])).code, 0);
    const anonymous = await engine.docker(['push', target]);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stderr, /unauthorized|authentication required|denied/);
    const login = await engine.docker(['login', wharf.host, '-u', 'dave', '--password-stdin'], { input: 'dave-secret\n' });
    assert.equal(login.code, 0, login.stderr);
    const push = await engine.docker(['push', target]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, new RegExp(`copy: digest: ${pulledDigest} size: \\d+`));
    const outside = await engine.docker(['tag', source, `${wharf.host}/someone-else/busybox:x`]);
    assert.equal(outside.code, 0);
    const denied = await engine.docker(['push', `${wharf.host}/someone-else/busybox:x`]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /denied|unauthorized/);
    const search = await engine.docker(['search', '--format', '{{.Name}}', `${wharf.host}/busybox`]);
    assert.equal(search.code, 0, search.stderr);
    assert.equal(search.stdout.trim(), 'dave/busybox');
    const limited = await engine.docker(['search', '--limit', '101', `${wharf.host}/busybox`]);
    assert.match(limited.stderr, /Limit 101 is outside the range of \[1, 100\]/);
    const missing = await engine.docker(['push', `${open.host}/nothing/here:v1`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /An image does not exist locally with the tag: .*nothing\/here/);
  });
});
