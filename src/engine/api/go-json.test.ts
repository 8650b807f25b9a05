import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goInt, goJsonMessage, goString, goStrSlice, goStruct, goStructList } from './go-json.ts';

const schema = goStruct('container.CreateRequest', {
  Image: goString(),
  Cmd: goStrSlice(),
  HostConfig: goStruct('container.HostConfig', { Memory: goInt('int64'), Mounts: goStructList('mount.Mount', { Target: goString() }) }),
});

const messageFor = (input: unknown) => {
  const result = schema.safeParse(input);
  assert.equal(result.success, false);
  return goJsonMessage(schema, input, result.error?.issues[0].path ?? []);
};

test('what Go decodes is accepted: null is a zero value, a string Cmd is a list, unknown fields stay', () => {
  assert.deepEqual(schema.parse({ Image: null, Cmd: 'ls', Extra: 1 }), { Image: undefined, Cmd: ['ls'], Extra: 1 });
  assert.equal(schema.parse(null), undefined);
});

test('a wrong type names the innermost struct, the field path from the root and the Go type, as encoding/json does', () => {
  assert.equal(messageFor({ Image: 1 }), 'json: cannot unmarshal number into Go struct field CreateRequest.Image of type string');
  assert.equal(messageFor({ Cmd: [1] }), 'json: cannot unmarshal array into Go struct field CreateRequest.Cmd of type string');
  assert.equal(messageFor({ HostConfig: { Memory: 1.5 } }), 'json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64');
  assert.equal(messageFor({ HostConfig: { Mounts: [{ Target: false }] } }), 'json: cannot unmarshal bool into Go struct field Mount.HostConfig.Mounts.Target of type string');
  assert.equal(messageFor({ HostConfig: 'x' }), 'json: cannot unmarshal string into Go struct field CreateRequest.HostConfig of type container.HostConfig');
  assert.equal(messageFor([]), 'json: cannot unmarshal array into Go value of type container.CreateRequest');
});
