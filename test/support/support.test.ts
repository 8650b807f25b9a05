import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildBusyboxRootfsTar, importBusybox, makeRandomLayerImage, writeRandomLayerTar } from './busybox.ts';
import { startDistribution } from './distribution.ts';
import { type Dockerd, startDockerd } from './dockerd.ts';
import { type HostNetwork, hostNetwork } from './host-network.ts';
import { mountsUnder, pidsMentioning } from './processes.ts';
import { runOk } from './run.ts';
import { skopeoCopy, skopeoInspect, skopeoInspectRaw } from './skopeo.ts';
import { makeTempDir, type TempDir } from './temp.ts';

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

// The helpers every e2e file and benchmark stands on: if these break, the failure should point here.
describe('test support', () => {
  let tmp: TempDir;

  before(() => {
    tmp = makeTempDir('wharf-support-');
  });

  after(() => tmp.remove());

  test('a random layer tar is a valid tar whose digest matches its bytes', async () => {
    const layer = await writeRandomLayerTar(join(tmp.path, 'layer.tar'), 1_000_003);
    assert.equal(layer.digest, await sha256File(layer.path));
    const listing = await runOk('tar', ['-tvf', layer.path]);
    assert.match(listing, /1000003 .* random\.bin/);
  });

  test('the busybox rootfs has a shell and the usual applets', async () => {
    const tar = await buildBusyboxRootfsTar(tmp.path);
    const names = (await runOk('tar', ['-tf', tar])).split('\n');
    for (const name of ['./bin/busybox', './bin/sh', './bin/echo', './bin/cat', './bin/ls', './bin/sleep', './bin/true', './bin/false', './etc/passwd', './etc/group', './tmp/']) {
      assert.ok(names.includes(name), `${name} in the rootfs`);
    }
  });

  test('random-layer images in both formats are read by skopeo with the expected layer', async () => {
    const oci = await makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 70_000, format: 'oci', tag: 'v1' });
    const ociInfo = await skopeoInspect(oci.ref);
    assert.deepEqual(ociInfo.Layers, [oci.layer.digest]);
    const raw = await skopeoInspectRaw(oci.ref);
    assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, oci.manifestDigest);

    const archive = await makeRandomLayerImage(join(tmp.path, 'archive'), { layerBytes: 70_000, format: 'docker-archive', name: 'e2e/random', tag: 'v2' });
    const archiveInfo = await skopeoInspect(archive.ref);
    assert.deepEqual(archiveInfo.Layers, [archive.layer.digest]);
    assert.equal(JSON.parse(await runOk('skopeo', ['inspect', '--config', archive.ref])).rootfs.diff_ids[0], archive.layer.digest);
  });

  test('distribution starts on a free port, takes a push, and leaves nothing behind', async () => {
    const registry = await startDistribution();
    const oci = await makeRandomLayerImage(join(tmp.path, 'dist'), { layerBytes: 10_000, format: 'oci' });
    await skopeoCopy(oci.ref, `docker://${registry.host}/support/x:v1`, { preserveDigests: true });
    const info = await skopeoInspect(`docker://${registry.host}/support/x:v1`);
    assert.equal(info.Digest, oci.manifestDigest);
    await registry.close();
    assert.equal(existsSync(registry.dataDir), false);
  });

  describe('private dockerd', () => {
    let daemons: Dockerd[] = [];

    after(async () => {
      await Promise.all(daemons.map((d) => d.stop()));
    });

    test('several start at once, each isolated, and stop without leftovers', async () => {
      daemons = await Promise.all([startDockerd(), startDockerd()]);
      const [a, b] = daemons;
      assert.notEqual(a.host, b.host);
      await importBusybox(a, 'only-in-a:latest');
      assert.match(await a.dockerOk(['images', '--format', '{{.Repository}}']), /only-in-a/);
      assert.doesNotMatch(await b.dockerOk(['images', '--format', '{{.Repository}}']), /only-in-a/);
      const info = JSON.parse(await a.dockerOk(['info', '--format', '{{json .}}']));
      assert.equal(info.Driver, a.storageDriver);
      // A running container is the worst case for cleanup: containerd, a shim, mounts under the temp dir.
      await a.dockerOk(['run', '-d', '--network', 'none', '--name', 'sleeper', 'only-in-a:latest', 'sleep', '600']);
      const dir = a.host.slice('unix://'.length).replace(/\/docker\.sock$/, '');
      assert.ok(pidsMentioning(dir).length >= 2, 'dockerd and containerd run from the temp dir');
      await a.stop();
      daemons = [b];
      assert.deepEqual(pidsMentioning(dir), []);
      assert.deepEqual(mountsUnder(dir), []);
      assert.equal(existsSync(dir), false);
      assert.match(await b.dockerOk(['version', '--format', '{{.Server.Version}}']), /^20\./, 'the other daemon is unaffected');
    });

    test('a daemon runs on its own bridge and leaves the host’s links, firewall rules and forwarding as they were', async () => {
      // Other test files may run private daemons meanwhile: their bridges come and go, ours is checked by name.
      const host = (n: HostNetwork) => ({ ...n, links: n.links.filter((l) => !/^wharf-/.test(l)) });
      const before = await hostNetwork();
      const d = await startDockerd();
      daemons.push(d);
      const bridgeOption = '{{index .Options "com.docker.network.bridge.name"}}';
      assert.equal((await d.dockerOk(['network', 'inspect', '-f', bridgeOption, 'bridge'])).trim(), d.bridge);
      assert.ok((await hostNetwork()).links.includes(d.bridge));
      await d.stop();
      daemons = daemons.filter((x) => x !== d);
      const after = await hostNetwork();
      assert.equal(after.links.includes(d.bridge), false, 'the bridge is removed');
      assert.deepEqual(host(after), host(before));
    });
  });
});
