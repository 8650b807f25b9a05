import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { describeNotificationQueue } from './queue-conformance.ts';
import { SqliteNotificationQueue } from './sqlite-notification-queue.ts';

describeNotificationQueue('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-nq-'));
  const file = join(dir, 'meta.db');
  const dbs = [openDatabase(file)];
  return {
    queue: new SqliteNotificationQueue(dbs[0]),
    // A restart: the first connection closed, a new one on the same file.
    reopen: async () => {
      dbs[0].close();
      dbs.push(openDatabase(file));
      return new SqliteNotificationQueue(dbs[dbs.length - 1]);
    },
    close: async () => {
      for (const db of dbs) if (db.isOpen) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('the migration runs once: a second queue on the same database does not recreate the table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-nq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'meta.db');
  const db = openDatabase(file);
  await new SqliteNotificationQueue(db).append([{ event: 'e', endpoints: ['hook'] }]);
  assert.equal(await new SqliteNotificationQueue(db).count('hook'), 1);
  db.close();
  const raw = new DatabaseSync(file);
  assert.equal((raw.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = 'notifications'").get() as { n: number }).n, 1);
  raw.close();
});
