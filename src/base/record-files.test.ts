import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../../test/support/temp.ts';
import { RecordFiles } from './record-files.ts';

interface Thing {
  name: string;
  size: number;
}

test('records round-trip one file each; stray files and bad keys are not records', async () => {
  await withTempDir('wharf-records-', async (dir) => {
    const records = new RecordFiles<Thing>(dir, { keyOf: (t) => t.name, keyPattern: /^[a-z]+$/ });
    records.save({ name: 'one', size: 1 });
    records.save({ name: 'two', size: 2 });
    records.save({ name: 'one', size: 3 });
    writeFileSync(join(dir, 'one.json~'), '{');
    writeFileSync(join(dir, '..json'), '{');
    assert.deepEqual(records.load().sort((a, b) => a.name.localeCompare(b.name)), [{ name: 'one', size: 3 }, { name: 'two', size: 2 }]);
    assert.throws(() => records.save({ name: '../escape', size: 0 }), /not a record key/);
    records.delete('../two');
    records.delete('two');
    assert.deepEqual(readdirSync(dir).sort(), ['..json', 'one.json', 'one.json~']);
  });
});
