import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SingleFlight } from './single-flight.ts';

test('callers of one key share the running call, its failure too; the next call runs anew', async () => {
  const flights = new SingleFlight<number>();
  let calls = 0;
  let release!: (n: number) => void;
  const call = () => {
    calls++;
    return new Promise<number>((resolve) => (release = resolve));
  };
  const both = [flights.run('k', call), flights.run('k', call)];
  const other = flights.run('other', async () => 7);
  release(5);
  assert.deepEqual(await Promise.all(both), [5, 5]);
  assert.equal(await other, 7);
  assert.equal(calls, 1);
  const failing = [flights.run('k', async () => Promise.reject(new Error('down'))), flights.run('k', call)];
  for (const result of failing) await assert.rejects(result, /down/);
  const again = flights.run('k', call);
  release(6);
  assert.equal(await again, 6);
  assert.equal(calls, 2);
});
