import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BuildArgs } from './build-args.ts';

test('moby BuildArgs: options win, meta args fill declarations without default, ENV hides ARGs, unused ones warned', () => {
  const args = new BuildArgs({ GIVEN: 'cli', UNUSED: 'x', HTTP_PROXY: 'http://proxy', NOVALUE: null }, new Map([['TARGETARCH', 'amd64']]));
  args.addArg('BASE', 'busybox');
  args.addMetaArg('BASE', 'busybox');
  assert.equal(args.meta().get('BASE'), 'busybox');
  assert.equal(args.meta().get('TARGETARCH'), 'amd64');
  const stage = args.forStage();
  assert.deepEqual([...stage.allowed()], [['HTTP_PROXY', 'http://proxy']], 'a stage starts with no ARG but the proxies');
  stage.addArg('BASE', undefined);
  stage.addArg('GIVEN', 'default');
  stage.addArg('TARGETARCH', undefined);
  stage.addArg('NOVALUE', 'dflt');
  assert.deepEqual(Object.fromEntries(stage.allowed()), { BASE: 'busybox', GIVEN: 'cli', TARGETARCH: 'amd64', NOVALUE: 'dflt', HTTP_PROXY: 'http://proxy' });
  assert.deepEqual(stage.filterAllowed(['GIVEN=env']).sort(), ['BASE=busybox', 'HTTP_PROXY=http://proxy', 'NOVALUE=dflt', 'TARGETARCH=amd64']);
  assert.equal(stage.isReferencedOrNotBuiltin('HTTP_PROXY'), false);
  args.mergeReferenced(stage);
  assert.equal(args.unusedWarning(), '[Warning] One or more build-args [UNUSED] were not consumed\n');
});
