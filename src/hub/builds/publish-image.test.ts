import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { publishImage } from './publish-image.ts';

const configDigest = `sha256:${'c'.repeat(64)}`;

test('each tag is put only after stillOurs let it: a build no longer ours (aborted, failed as stale) stops publishing', async () => {
  const root = mkdtempSync(join(tmpdir(), 'wharf-publish-'));
  try {
    // The engine's record of a built image with no layers (FROM scratch, a metadata step): only its config blob.
    mkdirSync(join(root, 'engine', 'images'), { recursive: true });
    writeFileSync(join(root, 'engine', 'images', 'images.json'), JSON.stringify({ images: [{ id: configDigest, layers: [], repoDigests: [], size: 0 }], refs: {} }));
    const blobs = { stat: async (digest: string) => (digest === configDigest ? { size: 2 } : undefined) } as unknown as BlobStore;
    const linked: string[] = [];
    const put: string[] = [];
    const registry = {
      linkStoredBlob: async (_repository: string, digest: string) => void linked.push(digest),
      putManifest: async (repository: string, tag: string) => void put.push(`${repository}:${tag}`),
    } as unknown as RegistryService;
    let checks = 0;
    const stillOurs = async () => {
      if (++checks > 1) throw new Error('the build was ended elsewhere');
    };
    await assert.rejects(publishImage({ registry, blobs, root }, configDigest, 'team/app', ['latest', 'abcdef012345'], stillOurs), /ended elsewhere/);
    assert.deepEqual(linked, [configDigest]);
    assert.deepEqual(put, ['team/app:latest'], 'the second tag was not put');
    const aborted = AbortSignal.abort(new Error('timed out'));
    await assert.rejects(publishImage({ registry, blobs, root }, configDigest, 'team/app', ['latest'], async () => aborted.throwIfAborted()), /timed out/);
    assert.deepEqual(put, ['team/app:latest']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
