import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { Fault, faultKinds } from '../../base/fault.ts';
import { v1StatusByCode, v1StatusByKind, v1StatusOf } from './v1-errors.ts';

function v1Section(): string {
  const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  const start = doc.indexOf('## Registry v1');
  assert.ok(start >= 0, 'docs/errors.md has a Registry v1 section');
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

test('docs/errors.md lists the v1 status of every fault kind and code', () => {
  const section = v1Section();
  for (const kind of faultKinds) assert.ok(section.includes(`| \`${kind}\` | ${v1StatusByKind[kind]} |`), `${kind} is missing or differs`);
  for (const [code, status] of Object.entries(v1StatusByCode)) assert.ok(section.includes(`| \`${code}\` | ${status} |`), `${code} is missing or differs`);
});

test('a code overrides its kind; anything that is not a Fault is a 500 unless it carries an HTTP status', () => {
  assert.equal(v1StatusOf(new Fault('unavailable', 'slow down', { code: 'TOOMANYREQUESTS' })), 429);
  assert.equal(v1StatusOf(new Fault('unavailable', 'down')), 503);
  assert.equal(v1StatusOf(new Fault('invalid-argument', 'bad name', { code: 'NAME_INVALID' })), 400);
  assert.equal(v1StatusOf(new Error('boom')), 500);
  assert.equal(v1StatusOf(Object.assign(new Error('too big'), { statusCode: 413 })), 413);
});
