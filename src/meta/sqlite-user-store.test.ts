import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from './sqlite-database.ts';
import { SqliteUserStore } from './sqlite-user-store.ts';
import type { UserRecord } from './user-store.ts';

const user = (name: string, extra: Partial<UserRecord> = {}): UserRecord => ({ name, passwordHash: `$2b$04$${name}`, admin: false, email: '', createdAt: '2030-01-01T00:00:00.000Z', ...extra });

test('users are added once, read, updated field by field, listed by name and deleted with their tokens', async () => {
  const db = openDatabase(':memory:');
  try {
    const store = new SqliteUserStore(db);
    await store.addUser(user('bob', { admin: true, email: 'bob@example.com' }));
    await store.addUser(user('alice'));
    await assert.rejects(store.addUser(user('alice')), (err: { kind?: string }) => err.kind === 'already-exists');
    assert.deepEqual(await store.getUser('bob'), user('bob', { admin: true, email: 'bob@example.com' }));
    assert.equal(await store.getUser('carol'), undefined);
    await store.updateUser('bob', { email: 'new@example.com' });
    await store.updateUser('bob', { passwordHash: 'h2' });
    assert.deepEqual(await store.getUser('bob'), user('bob', { admin: true, email: 'new@example.com', passwordHash: 'h2' }));
    await store.updateUser('bob', { admin: false });
    assert.equal((await store.getUser('bob'))?.admin, false);
    await assert.rejects(store.updateUser('carol', { email: 'x' }), (err: { kind?: string }) => err.kind === 'not-found');
    assert.deepEqual((await store.listUsers()).map((u) => u.name), ['alice', 'bob']);
    await store.addToken({ id: 't1', user: 'bob', secretHash: 'ab', scopes: ['repository:bob/*:pull'], description: 'ci', createdAt: '2030-01-01T00:00:00.000Z' });
    assert.equal(await store.deleteUser('bob'), true);
    assert.equal(await store.deleteUser('bob'), false);
    assert.equal(await store.getToken('t1'), undefined);
  } finally {
    db.close();
  }
});

test('tokens belong to existing users, list per user, and revoke once', async () => {
  const db = openDatabase(':memory:');
  try {
    const store = new SqliteUserStore(db);
    await store.addUser(user('alice'));
    await assert.rejects(store.addToken({ id: 'x', user: 'ghost', secretHash: '', scopes: [], description: '', createdAt: '' }), (err: { kind?: string }) => err.kind === 'not-found');
    for (const id of ['t2', 't1']) await store.addToken({ id, user: 'alice', secretHash: 'ff', scopes: ['repository:a:pull'], description: id, createdAt: '2030-01-01T00:00:00.000Z' });
    assert.deepEqual((await store.listTokens('alice')).map((t) => t.id), ['t1', 't2']);
    assert.deepEqual(await store.listTokens('nobody'), []);
    assert.equal(await store.revokeToken('t1', '2030-01-02T00:00:00.000Z'), true);
    assert.equal(await store.revokeToken('t1', '2030-01-03T00:00:00.000Z'), false, 'a revoked token stays revoked at its first date');
    assert.equal((await store.getToken('t1'))?.revokedAt, '2030-01-02T00:00:00.000Z');
    assert.deepEqual((await store.getToken('t2'))?.scopes, ['repository:a:pull']);
    assert.equal(await store.revokeToken('nope', 'x'), false);
  } finally {
    db.close();
  }
});

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
    assert.equal((server.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = 'auth'").get() as { n: number }).n, 1, 'migrations apply once');
  } finally {
    server.close();
    admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
