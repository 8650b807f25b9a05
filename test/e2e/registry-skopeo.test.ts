import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { buildRandomOciLayout, makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { runOk } from '../support/run.ts';
import { skopeo, skopeoCopy, skopeoDelete, skopeoInspect, skopeoInspectRaw, skopeoListTags, tlsOff } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { startTestWharf, type TestWharf } from '../support/wharf.ts';

const sha256 = (body: string | Buffer) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
const fileDigest = (path: string) => sha256(readFileSync(path));

// Real client: Debian's skopeo against wharf on a free loopback port (plain http: --*-tls-verify=false).
describe('skopeo against wharf', () => {
  let wharf: TestWharf;
  let tmp: TempDir;
  let oci: RandomLayerImage;
  let archive: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-skopeo-');
    [oci, archive, wharf] = await Promise.all([
      makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 3 * 1024 * 1024 + 17, format: 'oci', tag: 'latest' }),
      makeRandomLayerImage(join(tmp.path, 'archive'), { layerBytes: 1024 * 1024 + 9, format: 'docker-archive', name: 'e2e/archive', tag: 'v1' }),
      startTestWharf(),
    ]);
  });

  after(async () => {
    await wharf?.close();
    tmp?.remove();
  });

  test('copies an OCI layout in and back out with identical digests and bytes', async () => {
    const remote = `docker://${wharf.host}/e2e/oci:v1`;
    await skopeoCopy(oci.ref, remote, { preserveDigests: true });
    const inspect = await skopeoInspect(remote);
    assert.equal(inspect.Digest, oci.manifestDigest);
    assert.deepEqual(inspect.RepoTags, ['v1']);
    assert.deepEqual(inspect.Layers, [oci.layer.digest]);
    assert.equal(sha256(await skopeoInspectRaw(remote)), oci.manifestDigest, '--raw is the manifest exactly as pushed');
    const config = JSON.parse(await runOk('skopeo', ['inspect', '--config', ...tlsOff(remote), remote]));
    assert.deepEqual(config.rootfs.diff_ids, [oci.layer.digest]);

    const back = join(tmp.path, 'back');
    await skopeoCopy(remote, `oci:${back}:v1`, { preserveDigests: true });
    const index = JSON.parse(readFileSync(join(back, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, oci.manifestDigest);
    const layerFile = join(back, 'blobs', 'sha256', oci.layer.digest.slice(7));
    assert.equal(fileDigest(layerFile), oci.layer.digest, 'the layer came back byte for byte');
  });

  test('copies a docker-archive in as schema2 and back out to a docker-archive', async () => {
    const remote = `docker://${wharf.host}/e2e/archive:v1`;
    await skopeoCopy(archive.ref, remote);
    const raw = await skopeoInspectRaw(remote);
    const manifest = JSON.parse(raw);
    assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(manifest.config.digest, archive.configDigest);
    // skopeo gzips uncompressed layers on the way to a registry: the blob wharf holds must gunzip to the diff_id.
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0].mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    const blob = await fetch(`${wharf.url}/v2/e2e/archive/blobs/${manifest.layers[0].digest}`);
    const compressed = Buffer.from(await blob.arrayBuffer());
    assert.equal(sha256(compressed), manifest.layers[0].digest);
    assert.equal(compressed.length, manifest.layers[0].size);
    assert.equal(sha256(gunzipSync(compressed)), archive.layer.digest);
    assert.equal((await skopeoInspect(remote)).Digest, sha256(raw));

    const backTar = join(tmp.path, 'back.tar');
    await skopeoCopy(remote, `docker-archive:${backTar}:e2e/archive:v1`);
    const backInfo = await skopeoInspect(`docker-archive:${backTar}`);
    assert.deepEqual(backInfo.Layers, [archive.layer.digest]);
    const config = JSON.parse(await runOk('skopeo', ['inspect', '--config', `docker-archive:${backTar}`]));
    assert.deepEqual(config.rootfs.diff_ids, [archive.layer.digest]);
  });

  test('converts on the way in with --format oci, and the pushed digest is what wharf serves', async () => {
    const remote = `docker://${wharf.host}/e2e/converted:oci`;
    await skopeoCopy(archive.ref, remote, { format: 'oci' });
    const raw = await skopeoInspectRaw(remote);
    assert.equal(JSON.parse(raw).mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const byDigest = await skopeoInspectRaw(`docker://${wharf.host}/e2e/converted@${sha256(raw)}`);
    assert.equal(byDigest, raw);
  });

  test('copies between two repositories (blobs mounted) and keeps the digest', async () => {
    await skopeoCopy(`docker://${wharf.host}/e2e/oci:v1`, `docker://${wharf.host}/e2e/copy:v2`);
    const inspect = await skopeoInspect(`docker://${wharf.host}/e2e/copy:v2`);
    assert.equal(inspect.Digest, oci.manifestDigest);
  });

  test('copies a multi-architecture index with --all and serves it and its children unchanged', async () => {
    const layout = join(tmp.path, 'multi');
    const children = [];
    for (const architecture of ['amd64', 'arm64']) {
      const digest = await buildRandomOciLayout(layout, { layerBytes: 4096 });
      const body = readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)));
      children.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: body.length, platform: { architecture, os: 'linux' } });
    }
    const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: children });
    const indexDigest = sha256(index);
    writeFileSync(join(layout, 'blobs', 'sha256', indexDigest.slice(7)), index);
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }],
      }),
    );
    const remote = `docker://${wharf.host}/e2e/multi:v1`;
    await skopeoCopy(`oci:${layout}:multi`, remote, { all: true, preserveDigests: true });
    const raw = await skopeoInspectRaw(remote);
    assert.equal(sha256(raw), indexDigest, 'the index is stored byte for byte');
    assert.equal(JSON.parse(raw).mediaType, 'application/vnd.oci.image.index.v1+json');
    for (const child of children) {
      assert.equal(sha256(await skopeoInspectRaw(`docker://${wharf.host}/e2e/multi@${child.digest}`)), child.digest);
    }

    const back = join(tmp.path, 'multi-back');
    await skopeoCopy(remote, `oci:${back}:multi`, { all: true, preserveDigests: true });
    assert.equal(JSON.parse(readFileSync(join(back, 'index.json'), 'utf8')).manifests[0].digest, indexDigest);
    for (const child of children) assert.equal(fileDigest(join(back, 'blobs', 'sha256', child.digest.slice(7))), child.digest);
  });

  test('lists tags, deletes an image by tag and then by digest', async () => {
    const repo = `docker://${wharf.host}/e2e/del`;
    await skopeoCopy(oci.ref, `${repo}:v1`, { preserveDigests: true });
    await skopeoCopy(archive.ref, `${repo}:v2`);
    assert.deepEqual(await skopeoListTags(repo), ['v1', 'v2']);

    await skopeoDelete(`${repo}:v1`);
    const gone = await skopeo(['inspect', ...tlsOff(repo), `${repo}:v1`]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown/i);
    const goneByDigest = await skopeo(['inspect', '--raw', ...tlsOff(repo), `${repo}@${oci.manifestDigest}`]);
    assert.notEqual(goneByDigest.code, 0, 'skopeo delete removes the manifest, not only the tag');

    const v2Digest = sha256(await skopeoInspectRaw(`${repo}:v2`));
    await skopeoDelete(`${repo}@${v2Digest}`);
    assert.deepEqual(await skopeoListTags(repo), []);
    const stillElsewhere = await skopeoInspect(`docker://${wharf.host}/e2e/oci:v1`);
    assert.equal(stillElsewhere.Digest, oci.manifestDigest, 'other repositories keep the same content');
  });
});
