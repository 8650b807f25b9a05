import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { parseContentRange, parseRangeHeader, uploadRange } from './http-ranges.ts';

test('Range: one bytes range, open-ended and suffix forms, clamped to the blob', () => {
  assert.deepEqual(parseRangeHeader('bytes=2-5', 10), { start: 2, end: 5 });
  assert.deepEqual(parseRangeHeader('bytes=7-', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRangeHeader('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRangeHeader('bytes=-30', 10), { start: 0, end: 9 });
  assert.deepEqual(parseRangeHeader('bytes=8-100', 10), { start: 8, end: 9 });
  assert.equal(parseRangeHeader(undefined, 10), undefined);
});

test('Range: what the server does not understand is ignored (RFC 9110)', () => {
  for (const header of ['items=0-1', 'bytes=0-1,3-4', 'bytes=-', 'bytes=5-2', 'bytes=a-b', 'bytes 0-1']) {
    assert.equal(parseRangeHeader(header, 10), undefined, header);
  }
});

test('Range: a start past the end, an empty suffix or an empty blob is RANGE_INVALID', () => {
  for (const [header, size] of [['bytes=10-', 10], ['bytes=20-30', 10], ['bytes=-0', 10], ['bytes=0-0', 0], ['bytes=-5', 0]] as const) {
    assert.throws(() => parseRangeHeader(header, size), (err) => isFault(err, 'out-of-range') && err.code === 'RANGE_INVALID', header);
  }
});

test('Content-Range of a chunk: start-end, tolerating bytes prefix and total', () => {
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199/1000'), { start: 100, end: 199 });
  assert.deepEqual(parseContentRange('bytes=5-5'), { start: 5, end: 5 });
  assert.equal(parseContentRange(undefined), undefined);
  assert.equal(parseContentRange(''), undefined);
  for (const bad of ['x', '1', '-1', '1-', 'a-b', '1-2-3', `${'9'.repeat(20)}-${'9'.repeat(21)}`]) {
    assert.throws(() => parseContentRange(bad), (err) => isFault(err, 'invalid-argument') && err.code === 'BLOB_UPLOAD_INVALID', bad);
  }
  assert.throws(() => parseContentRange('9-3'), (err) => isFault(err, 'out-of-range') && err.code === 'RANGE_INVALID');
});

test('upload Range answers 0-<last byte>, and 0-0 when empty as distribution does', () => {
  assert.equal(uploadRange(0), '0-0');
  assert.equal(uploadRange(1), '0-0');
  assert.equal(uploadRange(100), '0-99');
});
