import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { SqliteNotificationQueue } from './sqlite-notification-queue.ts';

test('events come back per endpoint in the order appended, until removed', () => {
  const queue = new SqliteNotificationQueue(openDatabase(':memory:'));
  queue.append([{ event: 'e1', endpoints: ['a', 'b'] }]);
  queue.append([
    { event: 'e2', endpoints: ['a'] },
    { event: 'e3', endpoints: ['b'] },
  ]);
  queue.append([{ event: 'none', endpoints: [] }]);
  assert.equal(queue.count('a'), 2);
  assert.equal(queue.count('b'), 2);
  const first = queue.head('a');
  assert.equal(first?.event, 'e1');
  assert.equal(queue.head('a', first!.seq)?.event, 'e2', 'head after a seq skips what is acknowledged');
  queue.removeThrough('a', first!.seq);
  assert.equal(queue.head('a')?.event, 'e2');
  assert.equal(queue.head('b')?.event, 'e1', 'removing a\'s copy leaves b\'s');
  assert.deepEqual(queue.endpointsQueued(), ['a', 'b']);
  queue.removeThrough('a', queue.head('a')!.seq);
  assert.equal(queue.head('a'), undefined);
  assert.equal(queue.count('b'), 2, 'removeThrough keeps other endpoints\' events');
  assert.equal(queue.count('a'), 0);
});

test('what was appended is there after the database is closed and reopened', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-nq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'meta.db');
  const db = openDatabase(file);
  const queue = new SqliteNotificationQueue(db);
  for (let i = 0; i < 5; i++) queue.append([{ event: `e${i}`, endpoints: ['hook'] }]);
  queue.removeThrough('hook', queue.head('hook')!.seq);
  db.close();
  const again = new SqliteNotificationQueue(openDatabase(file));
  assert.equal(again.count('hook'), 4);
  assert.equal(again.head('hook')?.event, 'e1');
  // The migration ran once: a second store on the same database does not recreate the table.
  const raw = new DatabaseSync(file);
  assert.equal((raw.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = 'notifications'").get() as { n: number }).n, 1);
  raw.close();
});
