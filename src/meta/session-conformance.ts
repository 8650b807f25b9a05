import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionRecord, SessionStore } from './session-store.ts';

type WithSessions = (fn: (f: { sessions: SessionStore }) => Promise<void>) => () => Promise<void>;

const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute)).toISOString();
const session = (idHash: string, user: string, extra: Partial<SessionRecord> = {}): SessionRecord => ({
  idHash,
  user,
  credential: 'c'.repeat(64),
  csrfToken: `csrf-${idHash.slice(0, 8)}`,
  createdAt: at(0),
  expiresAt: at(60),
  lastSeenAt: at(0),
  ...extra,
});

/** SessionStore's contract for one engine. */
export function describeSessionStore(withStores: WithSessions): void {
  test('sessions are created once, read by their hash, touched forward only and deleted', withStores(async ({ sessions }) => {
    await sessions.create(session('a'.repeat(64), 'alice'));
    await assert.rejects(sessions.create(session('a'.repeat(64), 'bob')), (err: { kind?: string }) => err.kind === 'already-exists');
    assert.deepEqual(await sessions.get('a'.repeat(64)), session('a'.repeat(64), 'alice'));
    assert.equal(await sessions.get('b'.repeat(64)), undefined);
    await sessions.touch('a'.repeat(64), at(5));
    await sessions.touch('a'.repeat(64), at(3));
    assert.equal((await sessions.get('a'.repeat(64)))?.lastSeenAt, at(5));
    assert.equal(await sessions.delete('a'.repeat(64)), true);
    assert.equal(await sessions.delete('a'.repeat(64)), false);
    assert.equal(await sessions.get('a'.repeat(64)), undefined);
  }));

  test('every session of a user ends at once; expired ones are swept', withStores(async ({ sessions }) => {
    await sessions.create(session('1', 'alice'));
    await sessions.create(session('2', 'alice', { expiresAt: at(10) }));
    await sessions.create(session('3', 'bob', { expiresAt: at(10) }));
    await sessions.create(session('4', 'bob'));
    assert.equal(await sessions.deleteUser('alice'), 2);
    assert.equal(await sessions.deleteUser('alice'), 0);
    assert.equal(await sessions.deleteExpired(at(10)), 1, 'expired at its expiry instant');
    assert.equal(await sessions.get('3'), undefined);
    assert.equal((await sessions.get('4'))?.user, 'bob');
  }));

  test('a user keeps only the newest sessions asked for; other users keep theirs', withStores(async ({ sessions }) => {
    for (let i = 1; i <= 4; i++) await sessions.create(session(`a${i}`, 'alice', { createdAt: at(i) }));
    await sessions.create(session('b1', 'bob', { createdAt: at(0) }));
    assert.equal(await sessions.keepNewest('alice', 2), 2);
    assert.equal(await sessions.get('a1'), undefined);
    assert.equal(await sessions.get('a2'), undefined);
    assert.equal((await sessions.get('a3'))?.user, 'alice');
    assert.equal((await sessions.get('a4'))?.user, 'alice');
    assert.equal(await sessions.keepNewest('alice', 2), 0);
    assert.equal((await sessions.get('b1'))?.user, 'bob');
  }));
}
