import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { isFault } from '../base/fault.ts';
import type { MetadataStoreFixture } from './conformance.ts';
import type { MetadataStore } from './metadata-store.ts';

const digestOf = (seed: string) => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
const blob = (seed: string, size: number) => ({ digest: digestOf(seed), size });

async function refusal(write: Promise<unknown>): Promise<Record<string, unknown>> {
  const err = await write.then(() => undefined, (e: unknown) => e);
  assert.ok(isFault(err, 'permission-denied'), `refused as permission-denied: ${String(err)}`);
  assert.equal(err.code, 'DENIED');
  return { message: err.message, ...(err.detail as object) };
}

/**
 * Quotas and the checked writes (metadata-store.ts QuotaCheck) every MetadataStore passes; `make` as for
 * describeMetadataStore. The concurrent case matters where calls really overlap (a pool of connections).
 */
export function describeQuotaStore(name: string, make: () => Promise<MetadataStoreFixture>): void {
  const withStore = (fn: (store: MetadataStore) => Promise<void>) => async () => {
    const fixture = await make();
    try {
      await fn(fixture.store);
    } finally {
      await fixture.store.close();
      await fixture.cleanup();
    }
  };

  describe(`quota conformance: ${name}`, () => {
    test('a checked link over the quota writes nothing and says the numbers; held digests cost nothing', withStore(async (store) => {
      await store.linkBlob('team/a', blob('one', 600), { quotaNamespace: 'team' });
      await store.setQuota('team', 1000);
      const refused = await refusal(store.linkBlob('team/b', blob('two', 500), { quotaNamespace: 'team' }));
      assert.deepEqual(refused, { message: 'quota exceeded: namespace team uses 600 of 1000 bytes, this push needs 500 more', namespace: 'team', used: 600, limit: 1000, needed: 500 });
      assert.equal(await store.getBlobLink('team/b', digestOf('two')), undefined);
      await store.linkBlob('team/b', blob('one', 600), { quotaNamespace: 'team' });
      await store.linkBlob('team/b', blob('three', 400), { quotaNamespace: 'team' });
      assert.equal(await store.namespaceUsage('team'), 1000);
      // Unchecked writes (and other namespaces) are not refused.
      await store.linkBlob('team/c', blob('four', 1));
      await store.linkBlob('teamx/c', blob('five', 5000), { quotaNamespace: 'teamx' });
    }));

    test('a checked manifest counts its own bytes and new blobs; refused, no row lands', withStore(async (store) => {
      const layer = blob('layer', 300);
      await store.linkBlob('team/app', layer);
      await store.setQuota('team', 500);
      const manifest = { repository: 'team/app', mediaType: 'application/vnd.oci.image.manifest.v1+json', blobs: [layer], manifests: [], quotaNamespace: 'team' };
      await store.putManifest({ ...manifest, digest: digestOf('m1'), size: 150, tag: 'v1' });
      const refused = await refusal(store.putManifest({ ...manifest, digest: digestOf('m2'), size: 10, blobs: [layer, blob('new', 45)], tag: 'v2' }));
      assert.equal(refused.needed, 55);
      assert.equal(refused.used, 450);
      assert.equal(await store.getManifest('team/app', digestOf('m2')), undefined);
      assert.equal(await store.resolveTag('team/app', 'v2'), undefined);
      assert.equal(await store.getBlobLink('team/app', digestOf('new')), undefined);
      await store.putManifest({ ...manifest, digest: digestOf('m1'), size: 150, tag: 'again' });
      assert.equal(await store.namespaceUsage('team'), 450);
    }));

    test('concurrent checked links never take a namespace over its quota', withStore(async (store) => {
      await store.setQuota('team', 5500);
      const writes = Array.from({ length: 40 }, (_, i) => store.linkBlob(`team/r${i % 4}`, blob(`c${i}`, 1000), { quotaNamespace: 'team' }));
      const outcomes = await Promise.allSettled(writes);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 5);
      for (const o of outcomes) if (o.status === 'rejected') assert.match(String(o.reason), /quota exceeded: namespace team uses 5000 of 5500 bytes, this push needs 1000 more/);
      assert.equal(await store.namespaceUsage('team'), 5000);
    }));
  });
}
