import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAuthorization } from './credentials.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('Basic and Bearer credentials parse, the scheme case-insensitively', () => {
  assert.deepEqual(parseAuthorization(`Basic ${b64('u:p:q')}`), { kind: 'basic', username: 'u', password: 'p:q' });
  assert.deepEqual(parseAuthorization(`basic ${b64('u:')}`), { kind: 'basic', username: 'u', password: '' });
  assert.deepEqual(parseAuthorization('BEARER abc.def.ghi'), { kind: 'bearer', token: 'abc.def.ghi' });
  assert.deepEqual(parseAuthorization(undefined), { kind: 'none' });
  assert.deepEqual(parseAuthorization(''), { kind: 'none' });
});

test('malformed Authorization headers are values, never exceptions', () => {
  const bad = [
    'Basic',
    'Basic !!!',
    'Basic %%%',
    `Basic ${b64('nocolon')}`,
    `Basic ${b64(':password-without-user')}`,
    'Digest username="x"',
    'Token signature=abc',
    'Bearer',
    'Bearer    ',
    `Bearer ${'x'.repeat(10_000)}`,
    `Basic ${'A'.repeat(10_000)}`,
    '\u0000\u0001',
  ];
  for (const header of bad) assert.equal(parseAuthorization(header).kind, 'malformed', JSON.stringify(header.slice(0, 30)));
});
