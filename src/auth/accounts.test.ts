import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { openDatabase } from '../meta/sqlite-database.ts';
import { SqliteUserStore } from '../meta/sqlite-user-store.ts';
import { Accounts, newAccessToken } from './accounts.ts';
import { RateLimiter } from './rate-limiter.ts';

describe('accounts', () => {
  let dir: string;
  let htpasswd: string;
  let users: SqliteUserStore;
  let close: () => void;
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const make = (limit = 100) =>
    new Accounts({ users, htpasswd, limiter: new RateLimiter({ limit, windowSeconds: 60, now: () => clock }), now: () => clock });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-accounts-'));
    htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-nbB', 'filer', 'file-pw']).toString() + execFileSync('htpasswd', ['-nbB', 'both', 'file-pw']).toString());
    const db = openDatabase(':memory:');
    close = () => db.close();
    users = new SqliteUserStore(db);
    for (const [name, pw, admin] of [['alice', 'alice-pw', false], ['root', 'root-pw', true], ['both', 'store-pw', true]] as const) {
      await users.addUser({ name, passwordHash: await bcrypt.hash(pw, 4), admin, email: '', createdAt: '' });
    }
  });
  after(() => {
    close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('store users sign in with their password and carry their admin flag', async () => {
    const accounts = make();
    assert.deepEqual(await accounts.login('alice', 'alice-pw', '1.1.1.1'), { ok: true, principal: { identity: { account: 'alice', admin: false } } });
    assert.deepEqual(await accounts.login('root', 'root-pw', '1.1.1.1'), { ok: true, principal: { identity: { account: 'root', admin: true } } });
    assert.deepEqual(await accounts.login('alice', 'wrong', '1.1.1.1'), { ok: false, reason: 'invalid' });
    assert.deepEqual(await accounts.login('nobody', 'whatever', '1.1.1.1'), { ok: false, reason: 'invalid' });
    assert.deepEqual(await accounts.login('', 'x', '1.1.1.1'), { ok: false, reason: 'invalid' });
    assert.deepEqual(await accounts.login('a'.repeat(5000), 'x'.repeat(5000), '1.1.1.1'), { ok: false, reason: 'invalid' });
  });

  test('htpasswd -B users sign in; the file wins over a store user of the same name', async () => {
    const accounts = make();
    assert.equal((await accounts.login('filer', 'file-pw', '1.1.1.1')).ok, true);
    assert.deepEqual(await accounts.login('both', 'file-pw', '1.1.1.1'), { ok: true, principal: { identity: { account: 'both', admin: false } } });
    assert.deepEqual(await accounts.login('both', 'store-pw', '1.1.1.1'), { ok: false, reason: 'invalid' });
    assert.deepEqual(await accounts.identityOf('both'), { account: 'both', admin: false });
    assert.ok(await accounts.nameTaken('filer'), 'sign-up must not take a name the file holds');
    assert.ok(!(await accounts.nameTaken('newcomer')));
  });

  test('inHtpasswd names what the file holds; a store row disabling a file name disables it too', async () => {
    const accounts = make();
    assert.equal(accounts.inHtpasswd('both'), true);
    assert.equal(accounts.inHtpasswd('filer'), true);
    assert.equal(accounts.inHtpasswd('alice'), false);
    assert.ok((await accounts.login('both', 'file-pw', '1.1.1.1')).ok, 'cached now');
    await users.updateUser('both', { disabled: true });
    try {
      assert.deepEqual(await accounts.login('both', 'file-pw', '1.1.1.1'), { ok: false, reason: 'invalid' });
      assert.equal(await accounts.identityOf('both'), undefined);
      assert.equal(await accounts.current('both'), undefined);
    } finally {
      await users.updateUser('both', { disabled: false });
    }
    assert.ok((await accounts.login('both', 'file-pw', '1.1.1.1')).ok);
    assert.equal((await accounts.current('both'))?.principal.identity.admin, false, 'the store row\'s admin flag is not the file account\'s');
  });

  test('the htpasswd file is re-read when it changes', async () => {
    const accounts = make();
    assert.equal((await accounts.login('late', 'late-pw', '1.1.1.1')).ok, false);
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-nbB', 'late', 'late-pw']).toString());
    utimesSync(htpasswd, new Date(), new Date(Date.now() + 5000));
    assert.equal((await accounts.login('late', 'late-pw', '1.1.1.1')).ok, true);
    assert.equal((await accounts.login('filer', 'file-pw', '1.1.1.1')).ok, false, 'removed from the file: gone');
  });

  test('a verified password is remembered briefly, and concurrent checks share one bcrypt run', async () => {
    await users.addUser({ name: 'slow', passwordHash: await bcrypt.hash('slow-pw', 11), admin: false, email: '', createdAt: '' });
    const accounts = make();
    let start = performance.now();
    const first = await Promise.all(Array.from({ length: 8 }, () => accounts.login('slow', 'slow-pw', '1.1.1.1')));
    const cold = performance.now() - start;
    assert.ok(first.every((r) => r.ok));
    start = performance.now();
    for (let i = 0; i < 20; i++) assert.ok((await accounts.login('slow', 'slow-pw', '1.1.1.1')).ok);
    const warm = (performance.now() - start) / 20;
    assert.ok(warm * 5 < cold, `cached ${warm.toFixed(1)} ms vs one bcrypt ${cold.toFixed(1)} ms`);
    assert.ok(cold < 8 * warm + 3000, 'eight concurrent logins cost about one bcrypt run');
  });

  test('a password change or a deleted user holds at once, whatever the cache remembers', async () => {
    await users.addUser({ name: 'changer', passwordHash: await bcrypt.hash('old-pw', 4), admin: false, email: '', createdAt: '' });
    const accounts = make();
    assert.ok((await accounts.login('changer', 'old-pw', '1.1.1.1')).ok);
    await users.updateUser('changer', { passwordHash: await bcrypt.hash('new-pw', 4) });
    assert.equal((await accounts.login('changer', 'old-pw', '1.1.1.1')).ok, false);
    assert.ok((await accounts.login('changer', 'new-pw', '1.1.1.1')).ok);
    await users.deleteUser('changer');
    assert.equal((await accounts.login('changer', 'new-pw', '1.1.1.1')).ok, false);
  });

  test('a disabled user is nobody (password, robot tokens, refreshes) but keeps the name; enabled, back at once', async () => {
    await users.addUser({ name: 'sleeper', passwordHash: await bcrypt.hash('sleep-pw', 4), admin: false, email: '', createdAt: '' });
    const token = newAccessToken();
    await users.addToken({ id: token.id, user: 'sleeper', secretHash: token.secretHash, scopes: ['repository:sleeper/*:pull'], description: '', createdAt: '' });
    const accounts = make();
    assert.ok((await accounts.login('sleeper', 'sleep-pw', '1.1.1.1')).ok, 'cached now');
    await users.updateUser('sleeper', { disabled: true });
    assert.deepEqual(await accounts.login('sleeper', 'sleep-pw', '1.1.1.1'), { ok: false, reason: 'invalid' });
    assert.equal((await accounts.login('sleeper', token.password, '1.1.1.1')).ok, false);
    assert.equal(await accounts.current('sleeper'), undefined);
    assert.equal(await accounts.current('sleeper', token.id), undefined);
    assert.equal(await accounts.identityOf('sleeper'), undefined);
    assert.equal(await accounts.nameTaken('sleeper'), true, 'nobody can sign up with a disabled name');
    await users.updateUser('sleeper', { disabled: false });
    assert.ok((await accounts.login('sleeper', 'sleep-pw', '1.1.1.1')).ok);
    assert.ok((await accounts.login('sleeper', token.password, '1.1.1.1')).ok);
  });

  test('robot tokens sign in as their user, capped by their scopes, until revoked', async () => {
    const token = newAccessToken();
    await users.addToken({ id: token.id, user: 'alice', secretHash: token.secretHash, scopes: ['repository:alice/*:pull'], description: 'ci', createdAt: '' });
    const accounts = make();
    const login = await accounts.login('alice', token.password, '1.1.1.1');
    assert.ok(login.ok);
    const scopes = [{ type: 'repository', name: 'alice/*', actions: ['pull'] }];
    assert.deepEqual(login.principal, { identity: { account: 'alice', admin: false, tokenId: token.id, scopes }, limit: scopes });
    assert.equal((await accounts.login('root', token.password, '1.1.1.1')).ok, false, 'a token works only for its own user');
    assert.equal((await accounts.login('alice', `${token.password}x`, '1.1.1.1')).ok, false);
    assert.equal((await accounts.login('alice', token.password.replace(/_[^_]+$/, '_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), '1.1.1.1')).ok, false);
    assert.ok(await accounts.current('alice', token.id));
    await users.revokeToken(token.id, 'now');
    assert.equal((await accounts.login('alice', token.password, '1.1.1.1')).ok, false);
    assert.equal(await accounts.current('alice', token.id), undefined);
  });

  test('failed logins are limited per account and per client address', async () => {
    const accounts = make(3);
    for (let i = 0; i < 3; i++) assert.equal((await accounts.login('alice', `guess-${i}`, '2.2.2.2')).ok, false);
    const limited = await accounts.login('alice', 'alice-pw', '3.3.3.3');
    assert.equal(limited.ok, false);
    assert.equal(!limited.ok && limited.reason, 'rate-limited', 'the account is held back from any address');
    assert.ok(!limited.ok && limited.reason === 'rate-limited' && limited.retryAfter > 0);
    assert.equal((await accounts.login('root', 'root-pw', '2.2.2.2')).ok, false, 'and the guessing address for any account');
    assert.equal((await accounts.login('root', 'root-pw', '4.4.4.4')).ok, true);
    clock += 61_000;
    assert.equal((await accounts.login('alice', 'alice-pw', '2.2.2.2')).ok, true, 'the window passes');
  });

  test('authenticateBasic reads the header for the v1 routes', async () => {
    const accounts = make();
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    assert.equal((await accounts.authenticateBasic(basic('alice:alice-pw'), '1.1.1.1')).ok, true);
    assert.deepEqual(await accounts.authenticateBasic(undefined, '1.1.1.1'), { ok: false, reason: 'missing' });
    assert.deepEqual(await accounts.authenticateBasic('Basic ???', '1.1.1.1'), { ok: false, reason: 'malformed' });
    assert.deepEqual(await accounts.authenticateBasic(basic('alice:nope'), '1.1.1.1'), { ok: false, reason: 'invalid' });
  });
});
