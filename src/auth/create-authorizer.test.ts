import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, type ConfigInput } from '../base/config.ts';
import { openDatabase } from '../meta/sqlite-database.ts';
import { SqliteSecretStore } from '../meta/sqlite-secret-store.ts';
import { SqliteUserStore } from '../meta/sqlite-user-store.ts';
import { createAuthorizer, createAuthServices } from './create-authorizer.ts';

async function withRoot(work: (root: string, make: (auth: ConfigInput['auth']) => ReturnType<typeof loadConfig>) => Promise<void>) {
  const root = mkdtempSync(join(tmpdir(), 'wharf-create-auth-'));
  try {
    await work(root, (auth) => loadConfig({ overrides: { root, auth } }));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('the mode in config picks the authorizer', async () => {
  await withRoot(async (root, make) => {
    const db = openDatabase(':memory:');
    for (const mode of ['none', 'htpasswd', 'token'] as const) {
      assert.equal((await createAuthorizer({ config: make({ mode }), users: new SqliteUserStore(db) })).mode, mode);
    }
    db.close();
    assert.equal(statSync(join(root, 'auth', 'token-key.pem')).mode & 0o777, 0o600, 'token mode made its key, 0600');
    assert.equal(statSync(join(root, 'auth')).mode & 0o777, 0o700);
  });
});

test('only token mode builds the token service; every mode has accounts, the ACL and index tokens', async () => {
  await withRoot(async (_root, make) => {
    const db = openDatabase(':memory:');
    const none = await createAuthServices({ config: make({ mode: 'none' }), users: new SqliteUserStore(db) });
    assert.equal(none.tokens, undefined);
    assert.ok(none.accounts && none.acl && none.indexTokens);
    assert.ok((await createAuthServices({ config: make({ mode: 'token' }), users: new SqliteUserStore(db) })).tokens);
    db.close();
  });
});

test('a broken ACL rule fails at start', async () => {
  await withRoot(async (_root, make) => {
    const db = openDatabase(':memory:');
    await assert.rejects(createAuthorizer({ config: make({ mode: 'htpasswd', acl: [{ match: { name: '/[/' }, actions: ['pull'] }] }), users: new SqliteUserStore(db) }), /auth\.acl\[0\]/);
    db.close();
  });
});

test('RS256 keys are generated when configured, and a registry and token server on one root share the key', async () => {
  await withRoot(async (_root, make) => {
    const db = openDatabase(':memory:');
    const config = make({ mode: 'token', token: { algorithm: 'RS256' } });
    const [a, b] = await Promise.all([createAuthServices({ config, users: new SqliteUserStore(db) }), createAuthServices({ config, users: new SqliteUserStore(db) })]);
    const token = (await a.tokens!.issue({ account: 'x', admin: false }, [])).token;
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg, 'RS256');
    assert.equal((await b.tokens!.verify(token)).subject, 'x', 'two services started together agree on one key');
    db.close();
  });
});

test('index tokens verify wherever the same SecretStore backs them (replicas, a restart); another key refuses them', async () => {
  await withRoot(async (root, make) => {
    const file = join(root, 'meta.db');
    const [one, two] = [openDatabase(file), openDatabase(file)];
    const config = make({ mode: 'token' });
    const open = (db: typeof one) => createAuthServices({ config, users: new SqliteUserStore(db), secrets: new SqliteSecretStore(db) });
    const [a, b] = await Promise.all([open(one), open(two)]);
    const token = a.indexTokens.issue({ account: 'alice', repository: 'alice/app', access: 'write' });
    assert.deepEqual(b.indexTokens.verify(`Token ${token}`), { account: 'alice', repository: 'alice/app', access: 'write' });
    const alone = await createAuthServices({ config, users: new SqliteUserStore(one) });
    assert.equal(alone.indexTokens.verify(`Token ${token}`), undefined);
    one.close();
    two.close();
  });
});
