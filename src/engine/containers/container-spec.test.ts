import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageConfig } from '../images/image-config.ts';
import { buildContainerSpec } from './container-spec.ts';

const image: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Entrypoint: null, WorkingDir: '/w', Labels: { x: '1' } },
  rootfs: { type: 'layers', diff_ids: [] },
};
const id = 'a'.repeat(64);

test('the image Cmd is used when the user gives neither Cmd nor Entrypoint', () => {
  const spec = buildContainerSpec({ Image: 'bb' }, image, { id });
  assert.equal(spec.path, 'sh');
  assert.deepEqual(spec.args, []);
  assert.equal(spec.config.WorkingDir, '/w');
  assert.equal(spec.config.Hostname, id.slice(0, 12));
});

test('an explicit entrypoint drops the image Cmd; env overrides by key; labels merge', () => {
  const spec = buildContainerSpec({ Image: 'bb', Entrypoint: ['/bin/echo'], Env: ['A=2', 'B=3'], Labels: { y: '2' } }, image, { id });
  assert.equal(spec.path, '/bin/echo');
  assert.deepEqual(spec.args, []);
  assert.deepEqual(spec.config.Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.deepEqual(spec.config.Labels, { x: '1', y: '2' });
});

test('bad host config is refused with moby wording', () => {
  assert.throws(
    () => buildContainerSpec({ Image: 'bb', HostConfig: { RestartPolicy: { Name: 'sometimes' as never, MaximumRetryCount: 0 } } }, image, { id }),
    /invalid restart policy: unknown policy 'sometimes'/,
  );
  assert.throws(() => buildContainerSpec({ Image: 'bb', HostConfig: { Memory: -1 } }, image, { id }), /invalid memory limit/);
  assert.throws(() => buildContainerSpec({ Image: 'bb', HostConfig: { Memory: 1024 } }, image, { id }), /Minimum memory limit allowed is 6MB/);
  assert.throws(
    () => buildContainerSpec({ Image: 'bb', HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }, image, { id }),
    /AutoRemove/,
  );
});

test('no command at all is an invalid request', () => {
  assert.throws(() => buildContainerSpec({ Image: 'bb' }, { ...image, config: {} }, { id }), /no command specified/);
});
