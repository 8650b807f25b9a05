import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { engineRequest } from '../support/engine-api.ts';
import { mountsUnder } from '../support/processes.ts';
import { run } from '../support/run.ts';
import { dockerBin, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

/** A tar built in memory from entries (a test's hostile archive is a few hundred bytes). */
async function tarOf(entries: { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; body?: string }[]): Promise<Buffer> {
  const tar = pack();
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644 };
    if (header.type === 'file') tar.entry(header, e.body ?? 'x');
    else tar.entry(header);
  }
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('docker cp with the docker CLI', () => {
  let engine: TestEngine;
  let host: string;
  const marker = `wharf-cp-escape-${randomBytes(6).toString('hex')}`;

  before(async () => {
    engine = await startTestEngineWithBusybox(['-c', 'CMD ["sh"]']);
    host = join(engine.root, 'host');
    mkdirSync(join(host, 'dir', 'sub'), { recursive: true });
    writeFileSync(join(host, 'file.txt'), 'hello from the host\n');
    writeFileSync(join(host, 'dir', 'a'), 'a\n');
    writeFileSync(join(host, 'dir', 'sub', 'b'), 'b\n');
    await ok('run', '-d', '--name', 'live', 'busybox', 'sleep', '600');
    await ok('create', '--name', 'cold', 'busybox', 'true');
  });
  after(async () => {
    await engine?.docker(['rm', '-f', 'live', 'cold', 'user']);
    await engine?.close();
    for (const p of [`/tmp/${marker}`, `/${marker}`, `/etc/${marker}`]) assert.equal(existsSync(p), false, `${p} was written on the host`);
  });

  const d = (...args: string[]) => engine.docker(args);
  const ok = async (...args: string[]) => {
    const result = await engine.docker(args);
    assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const api = (method: string, path: string, body?: Buffer) => engineRequest(engine.socket, method, path, body);

  for (const name of ['live', 'cold']) {
    test(`a file and a directory go in and come back out of a ${name === 'live' ? 'running' : 'stopped'} container`, async () => {
      await ok('cp', join(host, 'file.txt'), `${name}:/tmp/`);
      await ok('cp', join(host, 'dir'), `${name}:/tmp/dir`);
      await ok('cp', `${join(host, 'dir')}/.`, `${name}:/tmp/`);
      const out = join(engine.root, `out-${name}`);
      mkdirSync(out);
      await ok('cp', `${name}:/tmp/file.txt`, join(out, 'copy.txt'));
      assert.equal(readFileSync(join(out, 'copy.txt'), 'utf8'), 'hello from the host\n');
      await ok('cp', `${name}:/tmp/dir`, out);
      assert.equal(readFileSync(join(out, 'dir', 'sub', 'b'), 'utf8'), 'b\n');
      // Trailing `/.`: the contents, not the directory.
      mkdirSync(join(out, 'contents'));
      await ok('cp', `${name}:/tmp/dir/.`, join(out, 'contents'));
      assert.equal(readFileSync(join(out, 'contents', 'a'), 'utf8'), 'a\n');
      // `dir/.` copied in earlier merged its contents into /tmp.
      await ok('cp', `${name}:/tmp/a`, join(out, 'merged-a'));
      assert.equal(readFileSync(join(out, 'merged-a'), 'utf8'), 'a\n');
    });
  }

  test('`-` streams a tar out and reads one in', async () => {
    const out = await api('GET', '/containers/live/archive?path=/tmp/dir');
    assert.equal(out.status, 200);
    const viaCli = await engine.docker(['cp', 'live:/tmp/dir', '-']);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    const tar = await tarOf([{ name: 'from-stdin.txt', body: 'stdin\n' }]);
    const put = await engine.docker(['cp', '-', 'live:/tmp'], { input: tar });
    assert.equal(put.code, 0, put.stderr);
    assert.equal(await ok('exec', 'live', 'cat', '/tmp/from-stdin.txt'), 'stdin\n');
    const atRoot = await engine.docker(['cp', '-', 'live:/'], { input: await tarOf([{ name: 'at-root.txt', body: 'root\n' }]) });
    assert.equal(atRoot.code, 0, atRoot.stderr);
    assert.equal(await ok('exec', 'live', 'cat', '/at-root.txt'), 'root\n');
  });

  test('the tar out is named after the path, and `/.` gives the contents', async () => {
    // The CLI through the async runner (the engine answering it runs in this process), its tar kept as bytes.
    const names = async (path: string) => {
      const file = join(engine.root, `out-${randomBytes(4).toString('hex')}.tar`);
      const out = await run('sh', ['-c', `"$0" cp "live:$1" - > "$2"`, dockerBin, path, file], { env: engine.env });
      assert.equal(out.code, 0, out.stderr);
      return execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    };
    assert.deepEqual((await names('/tmp/dir')).sort(), ['dir/', 'dir/a', 'dir/sub/', 'dir/sub/b']);
    assert.deepEqual((await names('/tmp/dir/.')).sort(), ['./', './a', './sub/', './sub/b']);
    assert.deepEqual(await names('/tmp/dir/a'), ['a']);
    const whole = await names('/');
    assert.ok(whole.includes('./bin/busybox') && whole.includes('./tmp/dir/sub/b'), 'the whole filesystem comes out of /');
  });

  test('HEAD answers the stat header with Go file modes; a missing path is moby\'s 404', async () => {
    const head = await api('HEAD', '/containers/live/archive?path=/tmp/dir');
    assert.equal(head.status, 200);
    const stat = JSON.parse(Buffer.from(String(head.headers?.['x-docker-container-path-stat']), 'base64').toString());
    assert.equal(stat.name, 'dir');
    assert.equal(stat.mode, (2 ** 31 + 0o755) >>> 0);
    assert.match(stat.mtime, /^\d{4}-\d\d-\d\dT/);
    await ok('exec', 'live', 'ln', '-s', '/tmp/file.txt', '/tmp/link');
    const link = await api('HEAD', '/containers/live/archive?path=/tmp/link');
    const linkStat = JSON.parse(Buffer.from(String(link.headers?.['x-docker-container-path-stat']), 'base64').toString());
    assert.equal(linkStat.mode & 2 ** 27, 2 ** 27);
    assert.equal(linkStat.linkTarget, '/tmp/file.txt');
    const missing = await d('cp', 'live:/nope', '-');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/nope in container live/);
    assert.equal((await api('GET', '/containers/live/archive')).status, 400);
  });

  test('-L copies what a symlink points at; without it the link itself', async () => {
    const out = join(engine.root, 'links');
    mkdirSync(out);
    await ok('cp', 'live:/tmp/link', join(out, 'plain'));
    assert.equal(readlinkSync(join(out, 'plain')), '/tmp/file.txt');
    await ok('cp', '-L', 'live:/tmp/link', join(out, 'followed'));
    assert.equal(readFileSync(join(out, 'followed'), 'utf8'), 'hello from the host\n');
  });

  test('-a gives the files the container USER; without it the tar\'s owners stay (as moby)', async () => {
    await ok('run', '-d', '--name', 'user', '--user', '4321:4322', 'busybox', 'sleep', '600');
    const owned = join(host, 'owned.txt');
    writeFileSync(owned, 'owned\n');
    chownSync(owned, 1234, 5678);
    await ok('cp', owned, 'user:/tmp/');
    assert.equal((await ok('exec', 'user', 'stat', '-c', '%u:%g', '/tmp/owned.txt')).trim(), '1234:5678');
    await ok('cp', '-a', owned, 'user:/tmp/owned-a.txt');
    assert.equal((await ok('exec', 'user', 'stat', '-c', '%u:%g', '/tmp/owned-a.txt')).trim(), '4321:4322');
  });

  test('copying onto a file is refused with moby\'s words', async () => {
    const viaCli = await engine.docker(['cp', '-', 'live:/tmp/file.txt'], { input: await tarOf([{ name: 'x' }]) });
    assert.notEqual(viaCli.code, 0);
    assert.match(viaCli.stderr, /must be a directory/);
    const put = await api('PUT', '/containers/live/archive?path=/tmp/file.txt', await tarOf([{ name: 'x' }]));
    assert.equal(put.status, 400);
    assert.match(put.body, /extraction point is not a directory/);
    const missing = await api('PUT', '/containers/live/archive?path=/nope', await tarOf([{ name: 'x' }]));
    assert.equal(missing.status, 404);
    assert.match(missing.body, /Could not find the file \/nope in container live/);
  });

  test('symlinks in the container resolve inside it, for reads and writes', async () => {
    writeFileSync(`/tmp/${marker}`, 'host secret\n');
    try {
      await ok('exec', 'live', 'ln', '-s', '/', '/evil');
      await ok('exec', 'live', 'ln', '-s', '../../../../../..', '/tmp/up');
      for (const path of [`/evil/tmp/${marker}`, `/tmp/up/tmp/${marker}`]) {
        const read = await d('cp', `live:${path}`, '-');
        assert.notEqual(read.code, 0, `${path} was readable`);
        assert.match(read.stderr, /Could not find the file/);
      }
      // procfs's magic links are read as text and resolved inside the root too: `self` is no process of the container.
      const self = await d('cp', 'live:/proc/self/root/etc/passwd', '-');
      assert.notEqual(self.code, 0);
      assert.match(self.stderr, /Could not find the file/);
      // /evil/etc/passwd is the container's own file.
      const passwd = await api('GET', '/containers/live/archive?path=/evil/etc/passwd');
      assert.equal(passwd.status, 200);
      const name = `${marker}-in`;
      writeFileSync(join(host, name), 'in\n');
      await ok('cp', join(host, name), 'live:/evil/tmp/');
      await ok('cp', join(host, name), 'live:/tmp/up/etc/');
      assert.equal(existsSync(`/tmp/${name}`), false);
      assert.equal(existsSync(`/etc/${name}`), false);
      assert.equal(await ok('exec', 'live', 'cat', `/tmp/${name}`), 'in\n');
      assert.equal(await ok('exec', 'live', 'cat', `/etc/${name}`), 'in\n');
    } finally {
      rmSync(`/tmp/${marker}`, { force: true });
      await ok('exec', 'live', 'rm', '-f', '/evil', '/tmp/up');
    }
  });

  test('hostile archives are refused and write nothing outside the container', async () => {
    const put = (tar: Buffer) => api('PUT', '/containers/live/archive?path=/tmp', tar);
    const dotdot = await put(await tarOf([{ name: `../../../../../../tmp/${marker}-dotdot` }]));
    assert.equal(dotdot.status, 400);
    assert.match(dotdot.body, /outside of the archive root/);
    const hardlink = await put(await tarOf([{ name: 'hl', type: 'link', linkname: '../../../../../etc/passwd' }]));
    assert.equal(hardlink.status, 400);
    const through = await put(await tarOf([{ name: 'sl', type: 'symlink', linkname: '/' }, { name: `sl/tmp/${marker}-through` }]));
    assert.equal(through.status, 400);
    assert.match(through.body, /symlink/);
    // An absolute name lands under the extraction point, as moby's unpacker places it.
    const absolute = await put(await tarOf([{ name: `/${marker}-abs` }]));
    assert.equal(absolute.status, 200, absolute.body);
    assert.equal(await ok('exec', 'live', 'cat', `/tmp/${marker}-abs`), 'x');
    for (const p of [`/tmp/${marker}-dotdot`, `/tmp/${marker}-through`, `/${marker}-abs`]) assert.equal(existsSync(p), false, `${p} written on the host`);
    assert.equal(lstatSync('/etc/passwd').nlink, 1);
  });

  test('a gzip-compressed tar is extracted too', async () => {
    const put = await api('PUT', '/containers/cold/archive?path=/', gzipSync(await tarOf([{ name: 'zipped.txt', body: 'gz\n' }])));
    assert.equal(put.status, 200, put.body);
    const back = await d('cp', 'cold:/zipped.txt', join(engine.root, 'zipped.txt'));
    assert.equal(back.code, 0, back.stderr);
    assert.equal(readFileSync(join(engine.root, 'zipped.txt'), 'utf8'), 'gz\n');
  });

  test('a bind of a running container receives the copy, and of a stopped one too', async () => {
    const bind = join(engine.root, 'bind');
    mkdirSync(bind);
    await ok('run', '-d', '--name', 'bound', '-v', `${bind}:/data`, 'busybox', 'sleep', '600');
    try {
      await ok('cp', join(host, 'file.txt'), 'bound:/data/');
      assert.equal(readFileSync(join(bind, 'file.txt'), 'utf8'), 'hello from the host\n');
      writeFileSync(join(bind, 'from-host'), 'bound\n');
      await ok('cp', 'bound:/data/from-host', join(engine.root, 'from-bind'));
      assert.equal(readFileSync(join(engine.root, 'from-bind'), 'utf8'), 'bound\n');
      await ok('kill', 'bound');
      await ok('cp', join(host, 'file.txt'), 'bound:/data/again.txt');
      assert.equal(readFileSync(join(bind, 'again.txt'), 'utf8'), 'hello from the host\n');
      writeFileSync(join(bind, 'while-stopped'), 'cold bind\n');
      await ok('cp', 'bound:/data/while-stopped', join(engine.root, 'from-cold-bind'));
      assert.equal(readFileSync(join(engine.root, 'from-cold-bind'), 'utf8'), 'cold bind\n');
      assert.deepEqual(await besideMountsLeft(engine.root), []);
    } finally {
      await d('rm', '-f', 'bound');
    }
  });

  test('a file copied into a stopped container\'s named volume is there for the next container using it', async () => {
    await ok('create', '--name', 'vol-cold', '-v', 'cpvol:/vol', '-v', `${host}:/host-ro:ro`, 'busybox', 'true');
    try {
      await ok('cp', join(host, 'file.txt'), 'vol-cold:/vol/in-volume.txt');
      const read = await ok('run', '--rm', '-v', 'cpvol:/v', 'busybox', 'cat', '/v/in-volume.txt');
      assert.equal(read, 'hello from the host\n');
      await ok('cp', 'vol-cold:/vol/in-volume.txt', join(engine.root, 'from-volume'));
      const readonly = await d('cp', join(host, 'file.txt'), 'vol-cold:/host-ro/copied.txt');
      assert.notEqual(readonly.code, 0);
      assert.match(readonly.stderr, /mounted volume is marked read-only/);
      assert.equal(existsSync(join(host, 'copied.txt')), false);
      assert.equal(readFileSync(join(engine.root, 'from-volume'), 'utf8'), 'hello from the host\n');
      assert.deepEqual(await besideMountsLeft(engine.root), []);
    } finally {
      await d('rm', '-f', 'vol-cold');
      await d('volume', 'rm', 'cpvol');
    }
  });

  test('a client that hangs up mid-archive releases the container', async () => {
    await ok('exec', 'live', 'sh', '-c', 'mkdir -p /tmp/big && for i in $(seq 1 64); do head -c 1048576 /dev/zero > /tmp/big/f$i; done');
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: engine.socket, path: '/containers/live/archive?path=/tmp/big' }, (res) => {
        assert.equal(res.statusCode, 200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    // The next copy needs the container's lock: it gets it once the abandoned archive was torn down.
    const put = await api('PUT', '/containers/live/archive?path=/tmp', await tarOf([{ name: 'after-hangup.txt' }]));
    assert.equal(put.status, 200, put.body);
    await ok('exec', 'live', 'rm', '-rf', '/tmp/big');
  });

  test('POST /containers/{id}/copy is a bare 404, as moby answers it from API 1.24 on', async () => {
    const res = await engineRequest(engine.socket, 'POST', '/v1.24/containers/live/copy', { Resource: '/etc/passwd' });
    assert.equal(res.status, 404);
    assert.equal(res.body, '');
  });
});

/**
 * The mounts of a stopped container's root mounted beside it still there after `timeoutMs`: the engine unmounts
 * once the tar stream it served has closed, a moment after the client read its end.
 */
async function besideMountsLeft(root: string, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = mountsUnder(root).filter((p) => /\/mounted(\/|$)/.test(p));
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
