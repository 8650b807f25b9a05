import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faultKinds } from '../base/fault.ts';
import { defaultErrorForKind, distributionErrorBody, distributionErrorFor, distributionErrors, isDistributionErrorCode } from './distribution-errors.ts';

test('the table holds every distribution-spec code with its status', () => {
  const spec: Record<string, number> = {
    BLOB_UNKNOWN: 404,
    BLOB_UPLOAD_INVALID: 400,
    BLOB_UPLOAD_UNKNOWN: 404,
    DIGEST_INVALID: 400,
    MANIFEST_BLOB_UNKNOWN: 400,
    MANIFEST_INVALID: 400,
    MANIFEST_UNKNOWN: 404,
    NAME_INVALID: 400,
    NAME_UNKNOWN: 404,
    SIZE_INVALID: 400,
    UNAUTHORIZED: 401,
    DENIED: 403,
    UNSUPPORTED: 405,
    TOOMANYREQUESTS: 429,
    RANGE_INVALID: 416,
  };
  for (const [code, status] of Object.entries(spec)) {
    assert.ok(isDistributionErrorCode(code), code);
    assert.equal(distributionErrors[code as keyof typeof distributionErrors].status, status, code);
  }
  assert.ok(!isDistributionErrorCode('NOT_A_CODE'));
  assert.ok(!isDistributionErrorCode('toString'), 'inherited properties are not codes');
});

test('a fault renders with its own code and that code status', () => {
  assert.deepEqual(distributionErrorFor({ kind: 'not-found', code: 'BLOB_UNKNOWN', message: 'gone', detail: { digest: 'd' } }), {
    status: 404,
    code: 'BLOB_UNKNOWN',
    message: 'gone',
    detail: { digest: 'd' },
  });
  assert.equal(distributionErrorFor({ kind: 'invalid-argument', code: 'NAME_INVALID', message: 'x' }).status, 400);
});

test('out-of-range is 416 and too-large 413 whatever the code', () => {
  assert.equal(distributionErrorFor({ kind: 'out-of-range', code: 'BLOB_UPLOAD_INVALID', message: 'x' }).status, 416);
  const tooLarge = distributionErrorFor({ kind: 'too-large', code: 'SIZE_INVALID', message: 'x' });
  assert.deepEqual([tooLarge.status, tooLarge.code], [413, 'SIZE_INVALID']);
});

test('a full disk is 507 UNKNOWN whatever the code, with its message and detail', () => {
  const wire = distributionErrorFor({ kind: 'storage-full', message: 'no space left on the disk holding /d', detail: { disk: '/d', reason: 'ENOSPC' } });
  assert.deepEqual(wire, { status: 507, code: 'UNKNOWN', message: 'no space left on the disk holding /d', detail: { disk: '/d', reason: 'ENOSPC' } });
  assert.equal(distributionErrorFor({ kind: 'storage-full', code: 'DENIED', message: 'x' }).status, 507);
});

test('a codeless fault (or one with a foreign code) takes its kind default', () => {
  for (const kind of faultKinds) {
    const wire = distributionErrorFor({ kind, message: 'm' });
    assert.deepEqual([wire.code, wire.status], [defaultErrorForKind[kind].code, defaultErrorForKind[kind].status], kind);
  }
  assert.deepEqual(distributionErrorFor({ kind: 'invalid-argument', code: 'SOMETHING_ELSE', message: 'm' }).status, 400);
  assert.equal(distributionErrorFor({ kind: 'unavailable', message: '' }).message, distributionErrors.UNAVAILABLE.message);
});

test('the body is the spec shape', () => {
  assert.deepEqual(distributionErrorBody('DENIED', 'no'), { errors: [{ code: 'DENIED', message: 'no', detail: {} }] });
});
