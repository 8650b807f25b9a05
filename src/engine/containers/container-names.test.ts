import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { containerNameConflict, NameReserver } from './container-names.ts';

test('of many racing reservations of one name exactly one wins, and a release by a loser frees nothing', async () => {
  const names = new NameReserver(containerNameConflict);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 50 }, async (_, i) => {
      await new Promise((resolve) => setImmediate(resolve));
      names.reserve('/same', `id${i}`);
      return i;
    }),
  );
  const winners = outcomes.filter((o) => o.status === 'fulfilled');
  assert.equal(winners.length, 1);
  const winner = `id${(winners[0] as PromiseFulfilledResult<number>).value}`;
  for (const o of outcomes) {
    if (o.status === 'rejected') {
      assert.ok(isFault(o.reason) && o.reason.kind === 'conflict');
      assert.match(o.reason.message, new RegExp(`The container name "/same" is already in use by container "${winner}"`));
    }
  }
  names.release('/same', 'someone-else');
  assert.equal(names.holderOf('/same'), winner);
  names.reserve('/same', winner);
  names.release('/same', winner);
  assert.equal(names.holderOf('/same'), undefined);
});
