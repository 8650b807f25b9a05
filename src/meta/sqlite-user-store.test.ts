import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { authMigrations } from './auth-migrations.ts';
import { openDatabase } from './sqlite-database.ts';
import { SqliteUserStore } from './sqlite-user-store.ts';
import type { UserRecord } from './user-store.ts';

const user = (name: string, extra: Partial<UserRecord> = {}): UserRecord => ({ name, passwordHash: `$2b$04$${name}`, admin: false, email: '', createdAt: '2030-01-01T00:00:00.000Z', disabled: false, ...extra });

test('a second connection to the same file sees changes at once (admin commands while the server runs)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-users-'));
  const server = openDatabase(join(dir, 'meta.db'));
  const admin = openDatabase(join(dir, 'meta.db'));
  try {
    const serving = new SqliteUserStore(server);
    const cli = new SqliteUserStore(admin);
    await cli.addUser(user('late'));
    assert.equal((await serving.getUser('late'))?.name, 'late');
    await cli.addToken({ id: 't', user: 'late', secretHash: 'ff', scopes: [], description: '', createdAt: '' });
    await cli.revokeToken('t', 'now');
    assert.equal((await serving.getToken('t'))?.revokedAt, 'now');
    new SqliteUserStore(server);
    assert.equal((server.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = 'auth'").get() as { n: number }).n, authMigrations.length, 'migrations apply once');
  } finally {
    server.close();
    admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
