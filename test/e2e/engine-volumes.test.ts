import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runOk } from '../support/run.ts';
import { withTempDir } from '../support/temp.ts';
import { getXattrs, setXattr } from '../support/xattrs.ts';
import { dockerChecks, buildBusyboxRootfsTar, runDocker, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

/** VFS_CAP_REVISION_2 with cap_net_raw and cap_setuid permitted and effective (ping's kind of file capability). */
const capability = '0100000280200000000000000000000000000000';

/** Volumes through the real docker CLI: the volume commands, volumes in containers, the seeds' data-volume container. */
describe('engine volumes', () => {
  let engine: TestEngine;

  before(async () => {
    engine = await startTestEngineWithBusybox();
  });
  after(() => engine?.close());

  const { ok, fails, inspect } = dockerChecks(() => engine);

  test('volume create, ls with filters, inspect and rm', async () => {
    assert.equal(await ok('volume', 'create', '--label', 'team=db', 'vol-a'), 'vol-a');
    assert.equal(await ok('volume', 'create', '--name', 'vol-b'), 'vol-b');
    const info = JSON.parse(await ok('volume', 'inspect', 'vol-a'))[0];
    assert.equal(info.Name, 'vol-a');
    assert.equal(info.Driver, 'local');
    assert.equal(info.Scope, 'local');
    assert.deepEqual(info.Labels, { team: 'db' });
    assert.equal(info.Mountpoint, join(engine.root, 'engine', 'volumes', 'vol-a', '_data'));
    assert.match(info.CreatedAt, /^\d{4}-\d\d-\d\dT/);
    assert.ok(existsSync(info.Mountpoint));
    assert.deepEqual((await ok('volume', 'ls', '-q', '--filter', 'label=team=db')).split('\n'), ['vol-a']);
    assert.deepEqual((await ok('volume', 'ls', '-q', '--filter', 'name=vol-')).split('\n').sort(), ['vol-a', 'vol-b']);
    assert.equal(await ok('volume', 'ls', '-q', '--filter', 'driver=other'), '');
    assert.deepEqual((await ok('volume', 'ls', '-q', '--filter', 'dangling=true', '--filter', 'name=vol-')).split('\n').sort(), ['vol-a', 'vol-b']);
    assert.equal(await ok('volume', 'rm', 'vol-a', 'vol-b'), 'vol-a\nvol-b');
    assert.equal(existsSync(info.Mountpoint), false);
    await fails(/get vol-a: no such volume/, 'volume', 'inspect', 'vol-a');
    await fails(/get vol-a: no such volume/, 'volume', 'rm', 'vol-a');
    await ok('volume', 'rm', '-f', 'vol-a');
  });

  test('docker events shows a volume\'s create, mount (with its container), unmount and destroy', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    const id = await ok('run', '-d', '-v', 'evvol:/data', 'busybox', 'true');
    assert.equal(await ok('wait', id), '0');
    await ok('rm', id);
    await ok('volume', 'rm', 'evvol');
    const until = (Date.now() / 1000 + 1).toFixed(3);
    const window = ['events', '--since', since, '--until', until, '--filter', 'type=volume', '--filter', 'volume=evvol'];
    assert.deepEqual((await ok(...window, '--format', '{{.Action}}')).split('\n'), ['create', 'mount', 'unmount', 'destroy']);
    const mount = JSON.parse(await ok(...window, '--filter', 'event=mount', '--format', '{{json .Actor.Attributes}}'));
    assert.deepEqual(mount, { container: id, destination: '/data', driver: 'local', propagation: '', 'read/write': 'true' });
  });

  test('bad volume input is refused clearly', async () => {
    await fails(/plugin "nfs" not found/, 'volume', 'create', '-d', 'nfs', 'v-nfs');
    await fails(/includes invalid characters for a local volume name/, 'volume', 'create', 'a/b');
    await fails(/includes invalid characters for a local volume name/, 'volume', 'create', '..');
    await fails(/invalid option key: "size"/, 'volume', 'create', '-o', 'size=1m', 'v-tmp');
    await fails(/missing required option: "device"/, 'volume', 'create', '-o', 'type=tmpfs', 'v-tmp');
    await fails(/invalid dangling filter|invalid filter 'dangling=maybe'/, 'volume', 'ls', '--filter', 'dangling=maybe');
    await fails(/invalid mount path: 'rel' mount path must be absolute/, 'run', '--rm', '-v', 'data:rel', 'busybox', 'true');
    // The CLI makes `./dir` absolute itself; a relative path it passes on is a volume name, refused.
    await fails(/includes invalid characters for a local volume name.*absolute path/, 'run', '--rm', '-v', 'dir/sub:/x', 'busybox', 'true');
    await fails(/includes invalid characters for a local volume name/, 'run', '--rm', '--mount', 'type=volume,src=..,dst=/x', 'busybox', 'true');
    await fails(/destination can't be '\/'/, 'run', '--rm', '-v', 'data:/x/..', 'busybox', 'true');
    await fails(/invalid characters/, 'run', '--rm', '--mount', 'type=volume,src=a/b,dst=/x', 'busybox', 'true');
    await fails(/plugin "nfs" not found/, 'run', '--rm', '--mount', 'type=volume,src=nv,dst=/x,volume-driver=nfs', 'busybox', 'true');
    await fails(/field Source must not be specified/, 'run', '--rm', '--mount', 'type=tmpfs,src=x,dst=/t', 'busybox', 'true');
    await fails(/mount path must be absolute/, 'run', '--rm', '--tmpfs', 't', 'busybox', 'true');
    await fails(/No such container: nosuch/, 'run', '--rm', '--volumes-from', 'nosuch', 'busybox', 'true');
    // Nothing was made by the refused runs.
    assert.equal(await ok('volume', 'ls', '-q'), '');
  });

  test('a named volume is created on first use, keeps its data across containers, and shows in Mounts', async () => {
    await ok('run', '--rm', '-v', 'keep:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f');
    assert.equal(await ok('run', '--rm', '--mount', 'type=volume,src=keep,dst=/d,readonly', 'busybox', 'cat', '/d/f'), 'persisted');
    await fails(/Read-only file system/, 'run', '--rm', '-v', 'keep:/d:ro', 'busybox', 'touch', '/d/x');
    await ok('create', '--name', 'holder', '-v', 'keep:/data:ro', 'busybox', 'true');
    const [mount] = await inspect('holder', '.Mounts');
    assert.deepEqual(mount, {
      Type: 'volume',
      Name: 'keep',
      Source: join(engine.root, 'engine', 'volumes', 'keep', '_data'),
      Destination: '/data',
      Driver: 'local',
      Mode: 'ro',
      RW: false,
      Propagation: '',
    });
    assert.equal(await ok('ps', '-a', '--filter', 'volume=keep', '--format', '{{.Names}}'), 'holder');
    assert.equal(await ok('ps', '-a', '--filter', 'volume=/data', '--format', '{{.Names}}'), 'holder');
    assert.equal(await ok('ps', '-a', '--filter', 'volume=other', '--format', '{{.Names}}'), '');
    // In use by a (stopped) container: moby's 409 text, even with -f.
    const inUse = await engine.docker(['volume', 'rm', '-f', 'keep']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, new RegExp(`remove keep: volume is in use - \\[${await ok('inspect', '-f', '{{.Id}}', 'holder')}\\]`));
    assert.equal(await ok('volume', 'ls', '-q', '--filter', 'dangling=true'), '');
    // rm -v never removes a named volume.
    await ok('rm', '-v', 'holder');
    assert.equal(await ok('volume', 'ls', '-q'), 'keep');
    await ok('volume', 'rm', 'keep');
  });

  test('the seeds’ data-volume container: --volumes-from shares the anonymous volume, rm -v removes it', async () => {
    await ok('run', '-v', '/dbdata', '--name', 'dbstore', 'busybox', 'true');
    const [store] = await inspect('dbstore', '.Mounts');
    assert.equal(store.Type, 'volume');
    assert.match(store.Name, /^[a-f0-9]{64}$/);
    assert.equal(store.Destination, '/dbdata');
    await ok('run', '--rm', '--volumes-from', 'dbstore', '--name', 'db1', 'busybox', 'sh', '-c', 'echo from-db1 > /dbdata/one');
    await ok('run', '--volumes-from', 'dbstore', '--name', 'db2', 'busybox', 'sh', '-c', 'cat /dbdata/one && echo from-db2 > /dbdata/two');
    assert.equal((await ok('logs', 'db2')), 'from-db1');
    assert.equal(await ok('run', '--rm', '--volumes-from', 'db2:ro', 'busybox', 'cat', '/dbdata/two'), 'from-db2');
    await fails(/Read-only file system/, 'run', '--rm', '--volumes-from', 'dbstore:ro', 'busybox', 'touch', '/dbdata/x');
    // --rm of the containers that borrowed it did not remove it; rm -v of one user keeps it while another uses it.
    assert.deepEqual((await ok('volume', 'ls', '-q')).split('\n'), [store.Name]);
    await ok('rm', '-v', 'db2');
    assert.deepEqual((await ok('volume', 'ls', '-q')).split('\n'), [store.Name]);
    await ok('rm', '-v', 'dbstore');
    assert.equal(await ok('volume', 'ls', '-q'), '');
    assert.equal(existsSync(store.Source), false);
  });

  test('an empty volume over an image path gets its content (modes, owners) once; nocopy and a non-empty volume do not', async () => {
    await ok('run', '--name', 'seedsrc', 'busybox', 'sh', '-c', 'mkdir -p /seed/sub && echo image > /seed/sub/f && chown 123:456 /seed/sub/f && chmod 640 /seed/sub/f && chmod 710 /seed');
    await ok('commit', '--change', 'VOLUME /seed', 'seedsrc', 'seeded');
    await ok('rm', 'seedsrc');
    assert.equal(await ok('run', '--rm', '-v', 'seedvol:/seed', 'seeded', 'sh', '-c', 'cat /seed/sub/f; stat -c "%u:%g %a" /seed/sub/f /seed'), 'image\n123:456 640\n0:0 710');
    await ok('run', '--rm', '-v', 'seedvol:/seed', 'seeded', 'sh', '-c', 'echo changed > /seed/sub/f');
    assert.equal(await ok('run', '--rm', '-v', 'seedvol:/seed', 'seeded', 'cat', '/seed/sub/f'), 'changed');
    assert.equal(await ok('run', '--rm', '-v', 'bare:/seed:nocopy', 'seeded', 'ls', '-A', '/seed'), '');
    assert.equal(await ok('run', '--rm', '--mount', 'type=volume,src=bare2,dst=/seed,volume-nocopy', 'seeded', 'ls', '-A', '/seed'), '');
    // The image's VOLUME alone: an anonymous, seeded volume that --rm removes.
    assert.equal(await ok('run', '--rm', 'seeded', 'cat', '/seed/sub/f'), 'image');
    assert.deepEqual((await ok('volume', 'ls', '-q')).split('\n').sort(), ['bare', 'bare2', 'seedvol']);
    await ok('volume', 'rm', 'bare', 'bare2', 'seedvol');
    await ok('rmi', 'seeded');
  });

  test('extended attributes of the image reach a volume’s copy, also through docker commit', async () => {
    // busybox has no setfattr: the image is a rootfs tar made by GNU tar with the attributes, then docker import.
    await withTempDir('wharf-xattr-image-', async (dir) => {
      const rootfs = join(dir, 'rootfs');
      mkdirSync(join(rootfs, 'data'), { recursive: true });
      await runOk('tar', ['-C', rootfs, '-xf', await buildBusyboxRootfsTar(dir)]);
      writeFileSync(join(rootfs, 'data/hello'), 'hello\n');
      await setXattr(join(rootfs, 'data/hello'), 'user.wharf', '31');
      await setXattr(join(rootfs, 'data/hello'), 'security.capability', capability);
      await setXattr(join(rootfs, 'data'), 'user.dir', '64');
      await runOk('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', rootfs, '-cf', join(dir, 'image.tar'), '.']);
      await ok('import', join(dir, 'image.tar'), 'xattrs');
    });
    const volumeOf = async (container: string) => (await inspect(container, '.Mounts'))[0].Source as string;
    await ok('run', '--name', 'xv', '-v', '/data', 'xattrs', 'true');
    const copied = await volumeOf('xv');
    assert.deepEqual(await getXattrs(join(copied, 'hello')), { 'security.capability': capability, 'user.wharf': '31' });
    assert.deepEqual(await getXattrs(copied), { 'user.dir': '64' });
    // The container's own copy of the file (overlayfs copies it up on chmod) goes through the commit's layer diff.
    await ok('run', '--name', 'xc', 'xattrs', 'chmod', '600', '/data/hello');
    await ok('commit', 'xc', 'xattrs2');
    await ok('run', '--name', 'xv2', '-v', '/data', 'xattrs2', 'true');
    const committed = await volumeOf('xv2');
    assert.deepEqual(await getXattrs(join(committed, 'hello')), { 'security.capability': capability, 'user.wharf': '31' });
    assert.equal(statSync(join(committed, 'hello')).mode & 0o777, 0o600);
    await ok('rm', '-v', 'xv', 'xc', 'xv2');
    await ok('rmi', 'xattrs2', 'xattrs');
    assert.equal(await ok('volume', 'ls', '-q'), '');
  });

  test('prune removes unused anonymous volumes, --all the named ones too; system df -v shows sizes', async () => {
    await ok('create', '-v', '/anon', '--name', 'anon-user', 'busybox', 'true');
    await ok('run', '--name', 'anon-gone', '-v', '/anon', 'busybox', 'sh', '-c', 'head -c 4096 /dev/zero > /anon/z');
    await ok('run', '--rm', '-v', 'named:/n', 'busybox', 'sh', '-c', 'head -c 1000 /dev/zero > /n/z');
    const gone = (await inspect('anon-gone', '.Mounts'))[0].Name;
    await ok('rm', 'anon-gone');
    const df = await ok('system', 'df', '-v', '--format', '{{json .Volumes}}');
    const sizes = Object.fromEntries(JSON.parse(df).map((v: { Name: string; Size: string }) => [v.Name, v.Size]));
    assert.equal(sizes.named, '1kB');
    assert.equal(sizes[gone], '4.096kB');
    const pruned = await ok('volume', 'prune', '-f');
    assert.match(pruned, new RegExp(gone));
    assert.doesNotMatch(pruned, /named/);
    const user = (await inspect('anon-user', '.Mounts'))[0].Name;
    assert.deepEqual((await ok('volume', 'ls', '-q')).split('\n').sort(), [user, 'named'].sort());
    assert.match(await ok('volume', 'prune', '-f', '--all'), /named/);
    assert.equal(await ok('volume', 'ls', '-q'), user);
    await ok('rm', '-v', 'anon-user');
    assert.equal(await ok('volume', 'ls', '-q'), '');
  });

  test('--tmpfs and --mount type=tmpfs mount a tmpfs with moby’s defaults and the given size and mode', async () => {
    const mounts = await ok('run', '--rm', '--tmpfs', '/run/t:size=1m', '--mount', 'type=tmpfs,dst=/m,tmpfs-size=65536,tmpfs-mode=1770', 'busybox', 'grep', 'tmpfs /', '/proc/mounts');
    assert.match(mounts, /^tmpfs \/run\/t tmpfs rw,nosuid,nodev,noexec,.*size=1024k/m);
    assert.match(mounts, /^tmpfs \/m tmpfs rw,nosuid,nodev,noexec,.*size=64k,mode=1770/m);
    assert.equal(await ok('run', '--rm', '--tmpfs', '/t:exec', 'busybox', 'sh', '-c', 'cp /bin/busybox /t/true && /t/true && echo ran'), 'ran');
    await ok('create', '--name', 'tmpfs-holder', '--tmpfs', '/flag', '--mount', 'type=tmpfs,dst=/m', 'busybox', 'true');
    assert.deepEqual(await inspect('tmpfs-holder', '.Mounts'), [{ Type: 'tmpfs', Source: '', Destination: '/m', Mode: '', RW: true, Propagation: '' }]);
    await ok('rm', 'tmpfs-holder');
  });

  test('volume create -o: a tmpfs volume lives while containers use it; type=none,o=bind shows a host directory', async () => {
    await ok('volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m,mode=1770', 'tvol');
    assert.deepEqual(JSON.parse(await ok('volume', 'inspect', 'tvol'))[0].Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=1770' });
    await ok('run', '-d', '--name', 'tmpfs-user', '-v', 'tvol:/d', 'busybox', 'sh', '-c', 'echo shared > /d/f; sleep 60');
    assert.match(await ok('run', '--rm', '-v', 'tvol:/d', 'busybox', 'sh', '-c', 'cat /d/f; grep " /d " /proc/mounts'), /^shared\ntmpfs \/d tmpfs .*size=1024k,mode=1770/);
    await ok('rm', '-f', 'tmpfs-user');
    // Unmounted with its last user, as moby's local driver does: the next one starts from an empty tmpfs.
    assert.equal(await ok('run', '--rm', '-v', 'tvol:/d', 'busybox', 'ls', '-A', '/d'), '');
    await ok('volume', 'rm', 'tvol');
    const host = mkdtempSync(join(engine.root, 'bind-none-'));
    writeFileSync(join(host, 'in.txt'), 'from the host');
    await ok('volume', 'create', '-o', 'type=none', '-o', `device=${host}`, '-o', 'o=bind', 'bvol');
    assert.equal(await ok('run', '--rm', '-v', 'bvol:/d', 'busybox', 'sh', '-c', 'cat /d/in.txt; echo back > /d/out.txt'), 'from the host');
    assert.equal(readFileSync(join(host, 'out.txt'), 'utf8'), 'back\n');
    await ok('volume', 'rm', 'bvol');
    assert.ok(existsSync(join(host, 'in.txt')), 'removing the volume leaves the bound directory alone');
  });

  test('a build’s RUN steps under a VOLUME leave no volumes behind', async () => {
    const built = await runDocker(['build', '-q', '-t', 'volbuild', '-'], { ...engine.env, DOCKER_BUILDKIT: '0' }, { input: 'FROM busybox\nVOLUME /v\nRUN echo x > /v/f\nRUN true\n' });
    assert.equal(built.code, 0, built.stderr);
    assert.equal(await ok('volume', 'ls', '-q'), '');
    await ok('rmi', 'volbuild');
  });

  test('volumes and their contents survive an engine restart', async () => {
    await ok('run', '--name', 'survivor', '-v', 'durable:/d', 'busybox', 'sh', '-c', 'echo still-here > /d/f');
    await engine.restart();
    assert.equal(await ok('volume', 'ls', '-q'), 'durable');
    assert.equal(await ok('start', '-a', 'survivor'), '');
    assert.equal(await ok('run', '--rm', '-v', 'durable:/d', 'busybox', 'cat', '/d/f'), 'still-here');
    await fails(/volume is in use/, 'volume', 'rm', 'durable');
    await ok('rm', 'survivor');
    await ok('volume', 'rm', 'durable');
  });
});
