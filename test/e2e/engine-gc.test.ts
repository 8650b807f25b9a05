import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { corruptBlobs } from '../../src/registry/gc/gc-fixture.ts';
import { buildBusyboxRootfsTar, makeRandomLayerImage } from '../support/busybox.ts';
import { waitFor } from '../support/ports.ts';
import { skopeoCopy, skopeoDelete, skopeoInspect } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfServe, type WharfServeProcess } from '../support/wharf.ts';
import { runDocker } from './engine-harness.ts';

// The targeted collection's grace period: short, so a blob used just now is freed by the release's retry.
const graceSeconds = 2;

const blobFile = (root: string, digest: string) => join(root, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));

// Real clients on a real `wharf serve` (engine and registry in their own processes on one root): the docker CLI
// removes images from the engine, skopeo pushes and deletes on the co-located registry.
describe('docker rmi and image prune free the blobs nothing else names', () => {
  let tmp: TempDir;
  let root: string;
  let wharf: WharfServeProcess;
  let env: Record<string, string>;

  const docker = async (...args: string[]) => {
    const result = await runDocker(args, env, { timeoutMs: 120_000 });
    assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const present = (digests: string[]) => digests.filter((digest) => existsSync(blobFile(root, digest)));
  const waitGone = (digests: string[]) => waitFor(`${digests.join(', ')} freed`, async () => present(digests).length === 0, 20_000);

  /** A random one-layer image on the co-located registry at `repo:v1`, then pulled by the engine; answers its blobs. */
  async function pulled(name: string): Promise<{ ref: string; blobs: string[]; manifest: string }> {
    const image = await makeRandomLayerImage(join(tmp.path, name), { layerBytes: 256 * 1024 + name.length, format: 'oci', tag: 'v1' });
    const ref = `${wharf.host}/gc/${name}:v1`;
    await skopeoCopy(image.ref, `docker://${ref}`, { preserveDigests: true });
    await docker('pull', ref);
    const manifest = image.manifestDigest ?? '';
    return { ref, manifest, blobs: [image.configDigest, image.layer.digest, manifest] };
  }

  before(async () => {
    tmp = makeTempDir('wharf-engine-gc-');
    root = join(tmp.path, 'root');
    mkdirSync(root);
    const config = join(tmp.path, 'wharf.yaml');
    writeFileSync(config, `registry:\n  gc:\n    gracePeriodSeconds: ${graceSeconds}\n`);
    wharf = await spawnWharfServe({ root, args: ['--config', config] });
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmp.path,
      DOCKER_HOST: `unix://${wharf.socket}`,
      DOCKER_CONFIG: join(tmp.path, 'docker-config'),
      DOCKER_CLI_HINTS: 'false',
    };
  });

  after(async () => {
    await wharf?.stop();
    tmp?.remove();
  });

  test('docker rmi of a pulled image frees its config, layer and manifest once the registry no longer names them', async () => {
    const image = await pulled('gone');
    await skopeoDelete(`docker://${wharf.host}/gc/gone@${image.manifest}`);
    await sleep((graceSeconds + 1) * 1000);
    assert.deepEqual(present(image.blobs), image.blobs, 'the engine still names them');
    await docker('rmi', image.ref);
    await waitGone(image.blobs);
    assert.deepEqual(await corruptBlobs(root), []);
  });

  test('docker rmi of an image the engine pushed to the co-located registry frees nothing: the registry names it', async () => {
    const tar = await buildBusyboxRootfsTar(tmp.path);
    const id = await docker('import', tar, 'gc-pushed');
    const ref = `${wharf.host}/gc/pushed:v1`;
    await docker('tag', 'gc-pushed', ref);
    await docker('push', ref);
    const layers = JSON.parse(await docker('image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref)) as string[];
    const pushed = await skopeoInspect(`docker://${ref}`);
    assert.deepEqual(pushed.Layers, layers, 'the engine pushed the layer blob it stores');
    const blobs = [id, ...layers, pushed.Digest as string];
    assert.deepEqual(present(blobs), blobs);
    await docker('rmi', 'gc-pushed', ref);
    // Past the grace period and the release's retry.
    await sleep((graceSeconds + 3) * 1000);
    assert.deepEqual(present(blobs), blobs, 'the registry still names every blob');
    await docker('pull', ref);
    assert.equal(await docker('image', 'inspect', '-f', '{{.Id}}', ref), id);
  });

  test('docker image prune -a frees what only the pruned images named and keeps what the registry names', async () => {
    const dropped = await pulled('pruned');
    const kept = await pulled('kept');
    await skopeoDelete(`docker://${wharf.host}/gc/pruned@${dropped.manifest}`);
    const output = await docker('image', 'prune', '-a', '-f');
    assert.match(output, /Total reclaimed space/);
    await waitGone(dropped.blobs);
    await sleep((graceSeconds + 3) * 1000);
    assert.deepEqual(present(kept.blobs), kept.blobs);
    assert.equal(await docker('images', '-q'), '');
    await skopeoCopy(`docker://${kept.ref}`, `oci:${join(tmp.path, 'kept-back')}:v1`, { preserveDigests: true });
    assert.deepEqual(await corruptBlobs(root), []);
  });
});
