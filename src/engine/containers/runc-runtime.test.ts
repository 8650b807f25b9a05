import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildBusyboxRootfsTar } from '../../../test/support/busybox.ts';
import { unmountUnder } from '../snapshots/mount.ts';
import { OverlaySnapshotter } from '../snapshots/overlay-snapshotter.ts';
import { describeRuntime } from './conformance.ts';
import { RuncRuntime, signalNumber, startExitCode } from './runc-runtime.ts';

describeRuntime('RuncRuntime (runc on overlay snapshots)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-runc-'));
  const snapshots = new OverlaySnapshotter({ root: join(root, 'snapshots') });
  await snapshots.prepare('unpack');
  await snapshots.applyLayer('unpack', createReadStream(await buildBusyboxRootfsTar(root)));
  await snapshots.commit('busybox', 'unpack');
  const runtime = new RuncRuntime({ root });
  return {
    runtime,
    host: runtime.host,
    bundleRoot: join(root, 'containers'),
    rootfs: (id) => snapshots.prepare(id, 'busybox'),
    releaseRootfs: async (id) => {
      if (await snapshots.stat(id)) await snapshots.remove(id);
    },
    cleanup: async () => {
      await unmountUnder(root);
      await rm(root, { recursive: true, force: true });
    },
  };
});

test('signal names, numbers and SIG prefixes map to numbers; unknown ones are refused', () => {
  assert.equal(signalNumber('KILL'), 9);
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('usr1'), 10);
  assert.equal(signalNumber('9'), 9);
  assert.equal(signalNumber(2), 2);
  assert.equal(signalNumber('WINCH'), 28);
  assert.equal(signalNumber('SIGRTMIN+3'), 37);
  assert.throws(() => signalNumber('BOGUS'), /invalid signal/);
  assert.throws(() => signalNumber(0), /invalid signal/);
});

test('start errors map to docker exit codes by their words', () => {
  assert.equal(startExitCode('exec: "nope": executable file not found in $PATH'), 127);
  assert.equal(startExitCode('stat /x: no such file or directory'), 127);
  assert.equal(startExitCode('exec /etc: permission denied'), 126);
  assert.equal(startExitCode('cgroup: something else'), 128);
});
