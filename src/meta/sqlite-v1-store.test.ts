import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyMigrations, openDatabase } from './sqlite-database.ts';
import { SqliteV1Store } from './sqlite-v1-store.ts';
import { v1Migrations } from './v1-migrations.ts';

const id = (c: string) => c.repeat(64);
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const at = '2014-06-01T00:00:00Z';

test('rows written before the second migration read back with their one checksum', async () => {
  const old = openDatabase(':memory:');
  applyMigrations(old, 'v1', v1Migrations.slice(0, 1));
  old.prepare("INSERT INTO v1_images (id, json, layer_digest, layer_size, diff_id, checksum, complete, created_at) VALUES (?, '{}', ?, 1, ?, ?, 1, ?)").run(id('a'), digest('1'), digest('2'), digest('3'), at);
  const upgraded = new SqliteV1Store(old);
  assert.deepEqual((await upgraded.getImage(id('a')))?.checksums, [digest('3')]);
  assert.deepEqual(await upgraded.holders(id('a')), []);
});
