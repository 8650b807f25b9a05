import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { loadConfig } from '../../base/config.ts';
import { SqliteGcIndex } from '../../meta/sqlite-gc-index.ts';
import { SqliteRetentionIndex } from '../../meta/sqlite-retention-index.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { registerRetentionCommand } from '../../cli/retention-command.ts';
import { pushImage, putManifest, startTestRegistry, type TestRegistry } from '../v2/test-registry.ts';
import { applyRetention } from './apply-retention.ts';
import { ImmutableTags } from './immutable-tags.ts';
import type { RetentionRule } from './retention-plan.ts';
import { sqliteMeta } from '../../main/open-meta.ts';

const now = new Date('2026-06-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

/** Pins push and creation times, which the store takes from the wall clock. */
function age(reg: TestRegistry, repository: string, tag: string, days: number): void {
  reg.db.prepare('UPDATE tags SET updated_at = ? WHERE repository = ? AND tag = ?').run(daysAgo(days), repository, tag);
  reg.db.prepare('UPDATE manifests SET created_at = ? WHERE repository = ? AND digest = (SELECT digest FROM tags WHERE repository = ? AND tag = ?)').run(daysAgo(days), repository, repository, tag);
}

async function run(reg: TestRegistry, rules: RetentionRule[], dryRun: boolean, immutable = new ImmutableTags([])) {
  const lines: string[] = [];
  const result = await applyRetention(
    { rules, immutable, tags: new SqliteRetentionIndex(reg.db), gc: new SqliteGcIndex(reg.db), now },
    { dryRun, onTag: (t) => lines.push(`tag ${t.repository}:${t.tag}`), onManifest: (m) => lines.push(`manifest ${m.repository}@${m.digest}`) },
  );
  return { result, lines };
}

test('keepLast by push time, keepTags and immutable tags kept, untagged manifests past the period; dry run = real run', async (t) => {
  const reg = await startTestRegistry();
  t.after(() => reg.close());
  const images: Record<string, string> = {};
  for (const [tag, days] of [['v1', 50], ['v2', 40], ['v3', 30], ['stable', 60], ['v4', 2], ['release-1', 70]] as const) {
    images[tag] = (await pushImage(reg.app, 'team/app', tag)).digest;
    age(reg, 'team/app', tag, days);
  }
  const untaggedOld = await pushImage(reg.app, 'team/app', 'gone');
  age(reg, 'team/app', 'gone', 20);
  await reg.app.inject({ method: 'DELETE', url: '/v2/team/app/manifests/gone' });
  await pushImage(reg.app, 'other/app', 'v1');
  age(reg, 'other/app', 'v1', 90);

  const rules: RetentionRule[] = [{ repository: 'team/*', keepLast: 2, keepTags: 'stable|latest', untaggedOlderThan: '240h' }];
  const immutable = new ImmutableTags([{ repository: 'team/**', tag: 'release-.*' }]);
  const dry = await run(reg, rules, true, immutable);
  // Newest two: v4 (2 days), v3 (30). v2 and v1 go; stable (keepTags) and release-1 (immutable) stay.
  // Untagged after that and older than 10 days: v1's, v2's and the deleted tag's manifest.
  assert.deepEqual(dry.lines.sort(), [
    `manifest team/app@${images.v1}`,
    `manifest team/app@${images.v2}`,
    `manifest team/app@${untaggedOld.digest}`,
    'tag team/app:v1',
    'tag team/app:v2',
  ].sort());
  assert.deepEqual(await reg.registry.meta.listTags('team/app', {}), ['release-1', 'stable', 'v1', 'v2', 'v3', 'v4'], 'dry run deletes nothing');

  const real = await run(reg, rules, false, immutable);
  assert.deepEqual(real.lines.sort(), dry.lines.sort());
  assert.deepEqual(real.result, { tags: 2, manifests: 3 });
  assert.deepEqual(await reg.registry.meta.listTags('team/app', {}), ['release-1', 'stable', 'v3', 'v4']);
  assert.equal(await reg.registry.meta.getManifest('team/app', images.v1), undefined);
  assert.ok(await reg.registry.meta.getManifest('team/app', images.v3));
  assert.deepEqual(await reg.registry.meta.listTags('other/app', {}), ['v1'], 'no rule matches other/app');
  assert.deepEqual((await run(reg, rules, true, immutable)).lines, [], 'a second run finds nothing');
});

test('untagged children of a kept index and young manifests stay; an expired index goes with its children', async (t) => {
  const reg = await startTestRegistry();
  t.after(() => reg.close());
  const child = await pushImage(reg.app, 'team/multi', 'child');
  await reg.app.inject({ method: 'DELETE', url: '/v2/team/multi/manifests/child' });
  const index = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ mediaType: mediaTypes.ociManifest, digest: child.digest, size: child.size }] });
  assert.equal((await putManifest(reg.app, 'team/multi', 'v1', index, mediaTypes.ociIndex)).statusCode, 201);
  reg.db.prepare('UPDATE manifests SET created_at = ?').run(daysAgo(30));
  const rules: RetentionRule[] = [{ repository: 'team/**', untaggedOlderThan: '24h' }];
  assert.deepEqual((await run(reg, rules, true)).lines, [], 'the child is held by the tagged index');

  await reg.app.inject({ method: 'DELETE', url: '/v2/team/multi/manifests/v1' });
  const young = await pushImage(reg.app, 'team/multi', 'young');
  await reg.app.inject({ method: 'DELETE', url: '/v2/team/multi/manifests/young' });
  const real = await run(reg, rules, false);
  assert.equal(real.result.manifests, 2);
  assert.ok(await reg.registry.meta.getManifest('team/multi', young.digest), 'created less than 24h ago');
});

test('wharf retention --dry-run prints the lines and a summary from the config', async (t) => {
  const reg = await startTestRegistry();
  t.after(() => reg.close());
  for (const [tag, days] of [['a', 3], ['b', 2], ['c', 1]] as const) {
    await pushImage(reg.app, 'ns/repo', tag);
    age(reg, 'ns/repo', tag, days);
  }
  const config = loadConfig({ overrides: { root: reg.root, registry: { retention: [{ repository: 'ns/repo', keepLast: 1 }] } } });
  const out: string[] = [];
  const program = new Command().exitOverride();
  registerRetentionCommand(program, async () => ({ config, stores: sqliteMeta(reg.db, 'test'), close: async () => undefined }), (c) => c.option('--root <dir>'), (line) => out.push(line));
  await program.parseAsync(['node', 'wharf', 'retention', '--dry-run']);
  // Newest first among those that go.
  assert.match(out[0], /^tag ns\/repo:b sha256:[0-9a-f]{64}$/);
  assert.match(out[1], /^tag ns\/repo:a sha256:/);
  assert.equal(out[2], 'would delete 2 tags, 0 untagged manifests');
  assert.deepEqual(await reg.registry.meta.listTags('ns/repo', {}), ['a', 'b', 'c']);
  await program.parseAsync(['node', 'wharf', 'retention']);
  assert.deepEqual(await reg.registry.meta.listTags('ns/repo', {}), ['c']);
});
