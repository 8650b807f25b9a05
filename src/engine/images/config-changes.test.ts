import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyConfigChanges } from './config-changes.ts';

test('import changes set CMD, ENV, WORKDIR and LABEL', () => {
  const config = applyConfigChanges({}, ['CMD ["sh"]', 'ENV A=1 B="two words"', 'WORKDIR /srv', 'LABEL k=v', 'ENTRYPOINT echo hi']);
  assert.deepEqual(config.Cmd, ['sh']);
  assert.deepEqual(config.Env, ['A=1', 'B=two words']);
  assert.equal(config.WorkingDir, '/srv');
  assert.deepEqual(config.Labels, { k: 'v' });
  assert.deepEqual(config.Entrypoint, ['/bin/sh', '-c', 'echo hi']);
});

test('instructions not allowed in a change are refused', () => {
  assert.throws(() => applyConfigChanges({}, ['RUN true']), /not a valid change command/);
});
