import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/store/s3-client.ts';
import { makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { startCephS3, type CephS3 } from '../support/ceph.ts';
import { skopeoCopy, skopeoInspect } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfProcess, type WharfProcess } from '../support/wharf.ts';

const fileDigest = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

// Real server and real client: `wharf registry serve` with `storage.driver: s3` on a single-node Ceph radosgw,
// pushed to and pulled from by skopeo.
describe('wharf registry serve on S3 (Ceph radosgw), with skopeo', () => {
  let ceph: CephS3;
  let tmp: TempDir;
  let image: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-registry-s3-');
    [ceph, image] = await Promise.all([
      startCephS3(),
      makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 24 * 1024 * 1024 + 5, format: 'oci', tag: 'latest' }),
    ]);
  }, { timeout: 180_000 });

  after(async () => {
    await ceph?.close();
    tmp?.remove();
  });

  /** `wharf registry serve --config` with the blobs in the bucket under `prefix`; its root holds only meta.db. */
  async function serve(prefix: string, redirect: boolean): Promise<WharfProcess> {
    const dir = join(tmp.path, prefix);
    const config = join(tmp.path, `${prefix}.yaml`);
    writeFileSync(config, [
      'storage:',
      '  driver: s3',
      '  s3:',
      `    endpoint: ${ceph.endpoint}`,
      `    region: ${ceph.region}`,
      `    bucket: ${ceph.bucket}`,
      `    prefix: ${prefix}`,
      `    accessKey: ${ceph.accessKey}`,
      `    secretKey: ${ceph.secretKey}`,
      '    forcePathStyle: true',
      '    redirect:',
      `      enabled: ${redirect}`,
      '',
    ].join('\n'));
    return spawnWharfProcess({ root: dir, args: ['--config', config] });
  }

  async function keys(prefix: string): Promise<string[]> {
    const s3 = createS3Client({ endpoint: ceph.endpoint, region: ceph.region, accessKey: ceph.accessKey, secretKey: ceph.secretKey, forcePathStyle: true });
    try {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: ceph.bucket, Prefix: `${prefix}/` }));
      return (out.Contents ?? []).map((o) => (o.Key ?? '').slice(prefix.length + 1));
    } finally {
      s3.destroy();
    }
  }

  for (const redirect of [false, true]) {
    test(`skopeo pushes and pulls an image byte for byte${redirect ? ', blobs redirected to presigned S3 URLs' : ''}`, async () => {
      const prefix = redirect ? 'redirected' : 'proxied';
      const wharf = await serve(prefix, redirect);
      try {
        const remote = `docker://${wharf.host}/e2e/s3:v1`;
        await skopeoCopy(image.ref, remote, { preserveDigests: true });
        assert.equal((await skopeoInspect(remote)).Digest, image.manifestDigest);
        const stored = await keys(prefix);
        assert.ok(stored.includes(`blobs/sha256/${image.layer.digest.slice(7, 9)}/${image.layer.digest.slice(7)}`), stored.join('\n'));
        assert.deepEqual(stored.filter((k) => !k.startsWith('blobs/')), [], 'no upload state left in the bucket');

        const layer = await fetch(`${wharf.url}/v2/e2e/s3/blobs/${image.layer.digest}`, { redirect: 'manual' });
        if (redirect) {
          assert.equal(layer.status, 307);
          assert.ok(layer.headers.get('location')?.startsWith(`${ceph.endpoint}/${ceph.bucket}/${prefix}/blobs/`), String(layer.headers.get('location')));
        } else {
          assert.equal(layer.status, 200);
        }
        await layer.body?.cancel();

        const back = join(tmp.path, `${prefix}-back`);
        await skopeoCopy(remote, `oci:${back}:v1`, { preserveDigests: true });
        assert.equal(fileDigest(join(back, 'blobs', 'sha256', image.layer.digest.slice(7))), image.layer.digest, 'the layer came back byte for byte');
      } finally {
        await wharf.stop();
      }
    });
  }
});
