import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { loadConfig } from '../base/config.ts';
import { openDatabase } from '../meta/sqlite-database.ts';
import { SqliteMetadataStore } from '../meta/sqlite-metadata-store.ts';
import { registerQuotaCommands } from './quota-command.ts';
import { sqliteMeta } from '../main/open-meta.ts';

test('wharf quota set, list and rm on a root', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-quota-'));
  const db = openDatabase(join(root, 'meta.db'));
  t.after(async () => {
    db.close();
    await rm(root, { recursive: true, force: true });
  });
  const meta = new SqliteMetadataStore(db);
  await meta.linkBlob('team/app', { digest: `sha256:${'a'.repeat(64)}`, size: 300 });
  await meta.linkBlob('team/web', { digest: `sha256:${'a'.repeat(64)}`, size: 300 });
  const out: string[] = [];
  const program = new Command().exitOverride();
  program.configureOutput({ writeErr: () => undefined });
  registerQuotaCommands(program, async () => ({ config: loadConfig({ overrides: { root } }), stores: sqliteMeta(db, 'test'), close: async () => undefined }), (c) => c, (line) => out.push(line));
  const wharf = (...args: string[]) => program.parseAsync(['node', 'wharf', 'quota', ...args]);
  await wharf('set', 'team', '10GiB');
  await wharf('set', 'other', '1MB');
  await wharf('list');
  assert.deepEqual(out, ['team: quota 10737418240 bytes, uses 300', 'other: quota 1000000 bytes, uses 0', 'NAMESPACE\tUSED\tLIMIT', 'other\t0\t1000000', 'team\t300\t10737418240']);
  await wharf('rm', 'other');
  assert.deepEqual(await meta.listQuotas(), [{ namespace: 'team', limit: 10737418240, used: 300 }]);
  await assert.rejects(wharf('rm', 'other'), /other has no quota/);
  await assert.rejects(wharf('set', 'team/app', '1MB'), /first component/);
  await assert.rejects(wharf('set', 'team', 'lots'), /invalid size/);
});
