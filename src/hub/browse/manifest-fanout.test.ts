import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mediaTypes } from '../../oci/media-types.ts';
import { putManifest } from '../../registry/v2/test-registry.ts';
import type { ManifestView, TagList } from '../../web/api-types.ts';
import { admin, type BrowseHub, getJson, type PushedImage, pushImageWith, pushIndex, startBrowseHub } from './browse-fixture.ts';
import { ManifestSummaries } from './manifest-summaries.ts';
import { maxSummarizedChildren, summarizeManifest } from './manifest-summary.ts';
import { StoredManifests } from './stored-manifests.ts';

/** Runs `work` sampling the RSS every 5 ms: its duration and how far the RSS rose above where it started. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; riseMiB: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const start = performance.now();
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, ms: performance.now() - start, riseMiB: (peak - base) / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

describe('an index fanning out to many children', () => {
  let hub: BrowseHub;
  before(async () => (hub = await startBrowseHub()));
  after(() => hub.close());

  test('2000 entries naming one image with a 4 MB config answer quickly in flat memory (tags and manifest)', async () => {
    const app = hub.registry.app;
    const history = Array.from({ length: 30000 }, (_, i) => ({ created_by: `RUN echo ${'x'.repeat(100)}${i}` }));
    const image = await pushImageWith(app, 'fan/out', 'img', { config: { os: 'linux', architecture: 'amd64', history }, layers: ['l1'] });
    assert.ok(image.config.size > 3_500_000);
    const entry = { mediaType: mediaTypes.ociManifest, digest: image.digest, size: image.size, platform: { os: 'linux', architecture: 'amd64' } };
    for (const tag of ['idx1', 'idx2', 'idx3', 'idx4', 'idx5', 'idx6', 'idx7', 'idx8']) {
      const body = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: Array.from({ length: 2000 }, () => entry) });
      assert.equal((await putManifest(app, 'fan/out', tag, body, mediaTypes.ociIndex)).statusCode, 201);
    }
    const api = await hub.as(admin);
    // Before the fix: 25 s and 2 GB for 200 entries, out of memory for 2000. Bounds are loose for a loaded 2-core host.
    const tags = await measured(() => getJson<TagList>(api, '/api/v1/tags?repository=fan/out'));
    assert.ok(tags.ms < 15_000, `tags took ${tags.ms} ms`);
    assert.ok(tags.riseMiB < 300, `RSS rose ${tags.riseMiB} MiB`);
    const row = tags.value.tags.find((t) => t.name === 'idx1');
    assert.deepEqual(row?.platforms, ['linux/amd64']);
    assert.equal(row?.partial, undefined);
    const view = await measured(() => getJson<ManifestView>(api, '/api/v1/manifest?repository=fan/out&reference=idx2'));
    assert.ok(view.ms < 15_000, `manifest took ${view.ms} ms`);
    assert.ok(view.riseMiB < 300, `RSS rose ${view.riseMiB} MiB`);
    assert.equal(view.value.children.length, 2000);
    assert.equal(view.value.size, row?.size);
  });

  test('past 64 distinct children, the rest count their entry only, platforms come from the index, the row says partial', async () => {
    const app = hub.registry.app;
    const children: { image: PushedImage; fields: object }[] = [];
    for (let i = 0; i < maxSummarizedChildren + 6; i++) {
      // The config names another platform: the index's entry is what counts.
      const image = await pushImageWith(app, 'many/kids', `c${i}`, { config: { os: 'plan9', architecture: `arch${i}`, created: `2020-01-01T00:00:${String(i % 60).padStart(2, '0')}Z` }, layers: ['shared'] });
      children.push({ image, fields: { platform: { os: 'linux', architecture: i % 2 ? 'arm64' : 'amd64' } } });
    }
    const index = await pushIndex(app, 'many/kids', 'multi', children);
    const api = await hub.as(admin);
    const list = await getJson<TagList>(api, '/api/v1/tags?repository=many/kids&n=100');
    const row = list.tags.find((t) => t.name === 'multi');
    assert.deepEqual(row?.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(row?.partial, true);
    const read = children.slice(0, maxSummarizedChildren);
    const expected = index.size + children.reduce((sum, c) => sum + c.image.size, 0) + read.reduce((sum, c) => sum + c.image.config.size, 0) + read[0].image.layers[0].size;
    assert.equal(row?.size, expected);
    assert.equal(row?.created, '2020-01-01T00:00:59.000Z', 'the newest of the children read');
    const view = await getJson<ManifestView>(api, '/api/v1/manifest?repository=many/kids&reference=multi');
    assert.equal(view.partial, true);
    assert.equal(view.children.length, maxSummarizedChildren + 6);
  });

  test('a request past its read budget summarises what it could, says partial, and is not cached', async () => {
    const app = hub.registry.app;
    const children = [];
    for (let i = 0; i < 4; i++) children.push({ image: await pushImageWith(app, 'tight/budget', `c${i}`, { config: { os: 'linux', architecture: 'amd64' }, layers: [`l${i}`] }), fields: {} });
    await pushIndex(app, 'tight/budget', 'idx', children);
    const summaries = new ManifestSummaries();
    const small = new StoredManifests(hub.registry.registry, 'tight/budget', { budgetBytes: children[0].image.size * 2 });
    const record = await small.record('idx');
    assert.ok(record);
    const cut = await summarizeManifest(small, record, summaries);
    assert.equal(cut.partial, true);
    assert.equal(summaries.get('tight/budget', record.digest), undefined);
    const whole = await summarizeManifest(new StoredManifests(hub.registry.registry, 'tight/budget'), record, summaries);
    assert.equal(whole.partial, undefined);
    assert.ok(whole.size > cut.size);
    assert.equal(summaries.get('tight/budget', record.digest), whole, 'a complete read is kept');
  });
});

test('ManifestSummaries keeps the most recently used, up to its bound', () => {
  const summaries = new ManifestSummaries({ maxEntries: 2 });
  const summary = (size: number) => ({ size, created: '2020-01-01T00:00:00.000Z', platforms: [] });
  summaries.set('r', 'sha256:a', summary(1));
  summaries.set('r', 'sha256:b', summary(2));
  assert.equal(summaries.get('r', 'sha256:a')?.size, 1);
  summaries.set('r', 'sha256:c', summary(3));
  assert.equal(summaries.get('r', 'sha256:b'), undefined, 'the least recently used went');
  assert.equal(summaries.get('r', 'sha256:a')?.size, 1);
  assert.equal(summaries.get('other', 'sha256:a'), undefined, 'by repository: what one holds is not what another does');
});
