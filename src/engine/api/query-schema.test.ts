import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { qBool, qEnum, qInt, qList, qString, qUint32, queryInput } from './query-schema.ts';

const parse = <T extends z.ZodType>(schema: T, query: string) => schema.safeParse(queryInput(new URLSearchParams(query)));

test('booleans follow moby: only "", 0, no, false, none are false; absent is the fallback', () => {
  const schema = z.object({ a: qBool(), b: qBool(), c: qBool(), d: qBool(), e: qBool(), f: qBool(), g: qBool(true) });
  assert.deepEqual(parse(schema, 'a=1&b=0&c=False&d=yes&e=').data, { a: true, b: false, c: false, d: true, e: false, f: false, g: true });
});

test('integers are strconv.Atoi: a non-number is refused with its text, absent or empty is undefined', () => {
  const schema = z.object({ t: qInt() });
  assert.equal(parse(schema, 't=-3').data?.t, -3);
  assert.equal(parse(schema, 't=').data?.t, undefined);
  assert.equal(parse(schema, 't=1.5').error?.issues[0].message, 'strconv.Atoi: parsing "1.5": invalid syntax');
  assert.equal(parse(schema, 't=99999999999999999999').error?.issues[0].message, 'strconv.Atoi: parsing "99999999999999999999": value out of range');
});

test('resize sizes are required unsigned 32-bit numbers, refused with moby\'s text', () => {
  const schema = z.object({ h: qUint32('resize height') });
  assert.equal(parse(schema, 'h=40').data?.h, 40);
  assert.equal(parse(schema, '').error?.issues[0].message, 'invalid resize height "": invalid syntax');
  assert.equal(parse(schema, 'h=-1').error?.issues[0].message, 'invalid resize height "-1": value out of range');
});

test('single values are the first given, lists keep every non-empty value, enums refuse the rest', () => {
  const schema = z.object({ name: qString(), changes: qList(), c: qEnum(['a', 'b'] as const, (v) => `bad ${v}`) });
  assert.deepEqual(parse(schema, 'name=x&name=y&changes=A&changes=&changes=B').data, { name: 'x', changes: ['A', 'B'] });
  assert.equal(parse(schema, 'c=z').error?.issues[0].message, 'bad z');
});
