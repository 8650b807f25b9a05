import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fault, isFault } from './fault.ts';
import { asStorageFull, storageFullReason } from './storage-full.ts';

const errno = (code: string) => Object.assign(new Error(`${code}: write`), { code });

test('ENOSPC, EDQUOT and SQLITE_FULL (also as a cause) mean the disk is full; other errors do not', () => {
  assert.equal(storageFullReason(errno('ENOSPC')), 'ENOSPC');
  assert.equal(storageFullReason(errno('EDQUOT')), 'EDQUOT');
  assert.equal(storageFullReason(Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 })), 'SQLITE_FULL');
  assert.equal(storageFullReason(new Error('wrapped', { cause: errno('ENOSPC') })), 'ENOSPC');
  assert.equal(storageFullReason(errno('EIO')), undefined);
  assert.equal(storageFullReason(Object.assign(new Error('locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 })), undefined);
  assert.equal(storageFullReason(undefined), undefined);
});

test('asStorageFull names the disk and leaves other errors and Faults as they are', () => {
  const fault = asStorageFull(errno('ENOSPC'), '/var/lib/wharf');
  assert.ok(isFault(fault, 'storage-full'));
  assert.match(fault.message, /no space left on the disk holding \/var\/lib\/wharf/);
  assert.deepEqual(fault.detail, { disk: '/var/lib/wharf', reason: 'ENOSPC' });
  const other = errno('EIO');
  assert.equal(asStorageFull(other, '/d'), other);
  const own = new Fault('conflict', 'busy');
  assert.equal(asStorageFull(own, '/d'), own);
});
