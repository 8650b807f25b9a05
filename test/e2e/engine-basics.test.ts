import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { runOk } from '../support/run.ts';
import { after, before, describe, test } from 'node:test';
import { buildBusyboxRootfsTar, startTestEngine, type TestEngine } from './engine-harness.ts';

/** Raw HTTP on the engine socket, for what the CLI does not show (headers, exact bodies). */
function raw(
  socket: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = request({ socketPath: socket, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('engine basics with the docker CLI', () => {
  let engine: TestEngine;
  let imageId: string;

  before(async () => {
    engine = await startTestEngine();
    const tar = await buildBusyboxRootfsTar(engine.root);
    const imported = await engine.docker(['import', '-c', 'CMD ["sh"]', tar, 'busybox']);
    assert.equal(imported.code, 0, imported.stderr);
    imageId = imported.stdout.trim();
    assert.match(imageId, /^sha256:[a-f0-9]{64}$/);
  });
  after(() => engine?.close());

  test('_ping answers HEAD and GET with the headers the CLI negotiates from', async () => {
    const head = await raw(engine.socket, 'HEAD', '/_ping');
    assert.equal(head.status, 200);
    assert.equal(head.headers['api-version'], '1.44');
    assert.equal(head.headers.ostype, 'linux');
    assert.equal(head.headers['docker-experimental'], 'false');
    assert.equal(head.headers['builder-version'], '1');
    const get = await raw(engine.socket, 'GET', '/v1.24/_ping');
    assert.equal(get.body, 'OK');
    assert.equal(get.headers['content-type'], 'text/plain; charset=utf-8');
  });

  test('errors are {"message"} with exactly application/json, and versions are bounded', async () => {
    const missing = await raw(engine.socket, 'GET', '/v1.41/containers/nope/json');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(missing.body), { message: 'No such container: nope' });
    const tooNew = await raw(engine.socket, 'GET', '/v1.99/info');
    assert.equal(tooNew.status, 400);
    assert.match(JSON.parse(tooNew.body).message, /client version 1.99 is too new/);
    assert.equal((await raw(engine.socket, 'GET', '/v1.44/nothing/here')).status, 404);
  });

  test('docker version and info talk to the engine', async () => {
    const version = await engine.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), '1.44 linux');
    const info = await engine.docker(['info', '--format', '{{.Images}} {{.OSType}} {{.Driver}}']);
    assert.equal(info.stdout.trim(), '1 linux overlay2');
  });

  test('docker images lists the imported image; inspect and history describe it', async () => {
    const images = await engine.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.equal(images.stdout.trim(), `busybox:latest ${imageId.slice(7, 19)}`);
    const inspect = await engine.docker(['image', 'inspect', '--format', '{{.Id}} {{json .Config.Cmd}} {{.Os}}', 'busybox']);
    assert.equal(inspect.stdout.trim(), `${imageId} ["sh"] linux`);
    const history = await engine.docker(['history', '--format', '{{.ID}} {{.Comment}}', 'busybox']);
    assert.equal(history.stdout.trim(), `${imageId.slice(7, 19)} Imported from -`);
  });

  test('docker run --rm busybox echo hi prints hi and exits 0', async () => {
    const result = await engine.docker(['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 'hi\n');
    assert.equal(result.code, 0);
    assert.equal((await engine.docker(['ps', '-aq'])).stdout, '', 'the --rm container is gone');
  });

  test('exit codes come back: 1, 3, 137 after docker kill, 127 for a missing command', async () => {
    assert.equal((await engine.docker(['run', '--rm', 'busybox', 'false'])).code, 1);
    assert.equal((await engine.docker(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'])).code, 3);
    const sleeper = (await engine.docker(['run', '-d', 'busybox', 'sleep', '60'])).stdout.trim();
    const waiting = engine.docker(['wait', sleeper]);
    assert.equal((await engine.docker(['kill', sleeper])).code, 0);
    assert.equal((await waiting).stdout.trim(), '137');
    assert.equal((await engine.docker(['rm', sleeper])).code, 0);
    const missing = await engine.docker(['run', '--rm', 'busybox', 'no-such-command']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /executable file not found/);
    assert.equal((await engine.docker(['ps', '-aq'])).stdout, '', '--rm removed the failed container too');
  });

  test('a failed start without --rm leaves a Created container with exit code 127', async () => {
    const result = await engine.docker(['run', '--name', 'nocmd', 'busybox', '/nope']);
    assert.equal(result.code, 127);
    const state = await engine.docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'nocmd']);
    assert.equal(state.stdout.trim(), 'created 127');
    assert.equal((await engine.docker(['rm', 'nocmd'])).code, 0);
  });

  test('stdout and stderr stay separate; env, workdir, user and hostname reach the process', async () => {
    const result = await engine.docker([
      'run', '--rm', '-e', 'GREETING=hello', '-w', '/tmp', '-u', 'nobody', '-h', 'box', 'busybox',
      'sh', '-c', 'echo "$GREETING $(pwd) $(id -u) $(hostname)"; echo oops >&2',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'hello /tmp 65534 box\n');
    assert.equal(result.stderr, 'oops\n');
  });

  test('stdin reaches a container run with -i', async () => {
    const result = await engine.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], { input: 'shout\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'SHOUT\n');
  });

  test('unknown images and containers, name conflicts and bad flags answer as moby does', async () => {
    const run = await engine.docker(['run', '--rm', 'localhost:1/nope', 'true']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Unable to find image 'localhost:1\/nope:latest' locally/);
    assert.match((await engine.docker(['rm', 'ghost'])).stderr, /Error response from daemon: No such container: ghost/);
    assert.match((await engine.docker(['rmi', 'ghost'])).stderr, /No such image: ghost:latest/);
    assert.equal((await engine.docker(['create', '--name', 'twin', 'busybox'])).code, 0);
    const conflict = await engine.docker(['create', '--name', 'twin', 'busybox']);
    assert.match(conflict.stderr, /Conflict. The container name "\/twin" is already in use by container "[a-f0-9]{64}"/);
    assert.match((await engine.docker(['kill', '-s', 'BOGUS', 'twin'])).stderr, /Invalid signal: BOGUS/);
    assert.match((await engine.docker(['run', '--restart', 'sometimes', 'busybox'])).stderr, /invalid restart policy: unknown policy 'sometimes'/);
    assert.equal((await engine.docker(['rm', 'twin'])).code, 0);
  });

  test('system df, container prune and image prune', async () => {
    assert.equal((await engine.docker(['create', '--name', 'leftover', 'busybox'])).code, 0);
    const df = await engine.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    assert.equal(df.code, 0, df.stderr);
    assert.match(df.stdout, /^Images 1$/m);
    assert.match(df.stdout, /^Containers 1$/m);
    const pruned = await engine.docker(['container', 'prune', '-f']);
    assert.match(pruned.stdout, /Deleted Containers:\n[a-f0-9]{64}/);
    assert.equal((await engine.docker(['ps', '-aq'])).stdout, '');
    assert.equal((await engine.docker(['tag', 'busybox', 'spare'])).code, 0);
    assert.equal((await engine.docker(['image', 'prune', '-f'])).code, 0);
    assert.match((await engine.docker(['images', '--format', '{{.Repository}}'])).stdout, /spare/, 'tagged images are not dangling');
    assert.equal((await engine.docker(['rmi', 'spare'])).code, 0);
  });

  test('system prune --volumes takes containers and their anonymous volumes; the predefined networks stay; export and re-import', async () => {
    assert.equal((await engine.docker(['create', '--name', 'prunable', '-v', '/anon', 'busybox'])).code, 0);
    const prune = await engine.docker(['system', 'prune', '-f', '--volumes']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /Deleted Containers:/);
    assert.match(prune.stdout, /Deleted Volumes:/);
    assert.equal((await engine.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).stdout, 'bridge bridge\nhost host\nnone null\n');
    const volumes = await engine.docker(['volume', 'ls', '-q']);
    assert.equal(volumes.code, 0, volumes.stderr);
    assert.equal(volumes.stdout, '');
    assert.equal((await engine.docker(['run', '--name', 'exportable', 'busybox', 'sh', '-c', 'echo kept >/exported.txt'])).code, 0);
    const stopped = join(engine.root, 'stopped.tar');
    const exported = await engine.docker(['export', '-o', stopped, 'exportable']);
    assert.equal(exported.code, 0, exported.stderr);
    const files = (await runOk('tar', ['-tf', stopped])).split('\n');
    for (const name of ['exported.txt', 'bin/busybox', 'etc/passwd']) assert.ok(files.includes(name), `${name} in the export`);
    assert.equal(await runOk('tar', ['-xOf', stopped, 'exported.txt']), 'kept\n');
    assert.equal((await engine.docker(['start', 'exportable'])).code, 0, 'the export unmounted its view again');
    assert.equal((await engine.docker(['import', stopped, 're-imported'])).code, 0);
    assert.equal((await engine.docker(['run', '--rm', 're-imported', 'cat', '/exported.txt'])).stdout, 'kept\n');
    const running = join(engine.root, 'running.tar');
    assert.equal((await engine.docker(['export', '-o', running, 'exportable'])).code, 0, 'a running container exports from its mounted rootfs');
    assert.ok((await runOk('tar', ['-tf', running])).split('\n').includes('exported.txt'));
    assert.equal((await engine.docker(['rm', '-f', 'exportable'])).code, 0);
    assert.equal((await engine.docker(['rmi', 're-imported'])).code, 0);
  });

  test('bad host config over the API is a 400 with moby’s message', async () => {
    const create = (hostConfig: object) => raw(engine.socket, 'POST', '/v1.44/containers/create', { Image: 'busybox', HostConfig: hostConfig });
    const negative = await create({ Memory: -1 });
    assert.equal(negative.status, 400);
    assert.match(JSON.parse(negative.body).message, /memory/);
    const tiny = await create({ Memory: 1024 });
    assert.deepEqual([tiny.status, JSON.parse(tiny.body).message], [400, 'Minimum memory limit allowed is 6MB']);
    const policy = await create({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } });
    assert.equal(policy.status, 400);
    const badJson = await raw(engine.socket, 'POST', '/v1.44/containers/create', '{');
    assert.equal(badJson.status, 400);
  });

  test('tag adds a reference; rmi untags, refuses an image in use, then deletes', async () => {
    assert.equal((await engine.docker(['tag', 'busybox', 'localhost:5000/bb:v1'])).code, 0);
    const tags = await engine.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.deepEqual(tags.stdout.trim().split('\n').sort(), ['busybox:latest', 'localhost:5000/bb:v1']);
    assert.equal((await engine.docker(['rmi', 'localhost:5000/bb:v1'])).stdout.trim(), 'Untagged: localhost:5000/bb:v1');
    assert.equal((await engine.docker(['create', '--name', 'user', 'busybox'])).code, 0);
    const inUse = await engine.docker(['rmi', imageId]);
    assert.match(inUse.stderr, /image is being used by stopped container/);
    assert.equal((await engine.docker(['rm', 'user'])).code, 0);
    assert.equal((await engine.docker(['tag', imageId, 'copy'])).code, 0);
    const removed = await engine.docker(['rmi', 'copy']);
    assert.equal(removed.stdout.trim(), 'Untagged: copy:latest');
  });
});
