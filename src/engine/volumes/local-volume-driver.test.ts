import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeVolumeDriver } from './conformance.ts';
import { LocalVolumeDriver } from './local-volume-driver.ts';
import { mountPoints, unmountUnder } from '../snapshots/mount.ts';

describeVolumeDriver('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  return { driver: new LocalVolumeDriver({ dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

test('the local driver lays volumes out as moby does: <dir>/<name>/_data, mode 0755', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  try {
    const driver = new LocalVolumeDriver({ dir });
    await driver.create('web', {});
    assert.equal(driver.path('web'), join(dir, 'web', '_data'));
    assert.equal((await stat(driver.path('web'))).mode & 0o777, 0o755);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the local driver checks its options as moby does: type, device and o only, type and device together', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  try {
    const driver = new LocalVolumeDriver({ dir });
    await assert.rejects(driver.create('t', { type: 'tmpfs', device: 'tmpfs', size: '1m' }), /create t: invalid option key: "size"/);
    await assert.rejects(driver.create('t', { device: 'tmpfs' }), /missing required option: "type"/);
    await assert.rejects(driver.create('t', { type: 'tmpfs' }), /missing required option: "device"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a tmpfs volume is a tmpfs on _data while mounted, and its content goes with the unmount', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  const options = { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' };
  try {
    const driver = new LocalVolumeDriver({ dir });
    await driver.create('t', options);
    await driver.mount('t', options);
    assert.ok((await mountPoints()).includes(driver.path('t')));
    await writeFile(join(driver.path('t'), 'f'), 'x');
    await driver.unmount('t', options);
    assert.equal((await mountPoints()).includes(driver.path('t')), false);
    assert.deepEqual(await readdir(driver.path('t')), []);
  } finally {
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
});

test('removing a bind volume still mounted unmounts it first and leaves the host directory alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-volumes-'));
  const host = await mkdtemp(join(tmpdir(), 'wharf-volume-host-'));
  const options = { type: 'none', device: host, o: 'bind' };
  try {
    await writeFile(join(host, 'keep'), 'x');
    const driver = new LocalVolumeDriver({ dir });
    await driver.create('b', options);
    await driver.mount('b', options);
    assert.deepEqual(await readdir(driver.path('b')), ['keep']);
    await driver.remove('b');
    assert.deepEqual(await readdir(host), ['keep']);
  } finally {
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
    await rm(host, { recursive: true, force: true });
  }
});
