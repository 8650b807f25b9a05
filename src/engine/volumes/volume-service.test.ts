import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { createLogger } from '../../base/log.ts';
import { EventLog } from '../events.ts';
import { LocalVolumeDriver } from './local-volume-driver.ts';
import { VolumeRecords } from './volume-records.ts';
import { VolumeService } from './volume-service.ts';

let dir: string;
const open = () =>
  new VolumeService({
    records: new VolumeRecords(join(dir, 'records')),
    driver: new LocalVolumeDriver({ dir: join(dir, 'volumes') }),
    events: new EventLog(),
    logger: createLogger({ level: 'silent' }),
  });

beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'wharf-volume-service-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

test('a volume and its labels survive a restart of the service; data a crash left without a record is removed', async () => {
  const service = open();
  await service.create({ name: 'db', labels: { app: 'x' } });
  await writeFile(join(service.mountpoint('db'), 'f'), 'kept');
  await mkdir(join(dir, 'volumes', 'half-made', '_data'), { recursive: true });
  const again = open();
  await again.restore();
  assert.deepEqual(again.get('db').labels, { app: 'x' });
  assert.ok(existsSync(join(again.mountpoint('db'), 'f')));
  assert.equal(existsSync(join(dir, 'volumes', 'half-made')), false);
});

test('create is idempotent for a name; concurrent creates of one name make one volume', async () => {
  const service = open();
  const [a, b] = await Promise.all([service.create({ name: 'same' }), service.create({ name: 'same' })]);
  assert.equal(a, b);
  assert.deepEqual(service.list().map((v) => v.name), ['same']);
});

test('anonymous volumes get a 64-hex name and moby’s anonymous label', async () => {
  const record = await open().create({ anonymous: true });
  assert.match(record.name, /^[a-f0-9]{64}$/);
  assert.deepEqual(record.labels, { 'com.docker.volume.anonymous': '' });
});

test('bad names and unknown drivers are refused; a missing volume is not found unless forced', async () => {
  const service = open();
  await assert.rejects(service.create({ name: 'a/b' }), /includes invalid characters for a local volume name/);
  await assert.rejects(service.create({ name: 'xy', driver: 'nfs' }), /error looking up volume plugin nfs: plugin "nfs" not found/);
  await assert.rejects(service.remove('nosuch'), /get nosuch: no such volume/);
  await service.remove('nosuch', { force: true });
});

test('a volume in use is not removed, even with force; a create-time hold counts as use', async () => {
  const service = open();
  service.setUsers((name) => (name === 'used' ? ['c1'] : []));
  await service.create({ name: 'used' });
  await assert.rejects(service.remove('used', { force: true }), /remove used: volume is in use - \[c1\]/);
  await service.create({ name: 'held' });
  service.hold('held', 'c2');
  await assert.rejects(service.remove('held'), /volume is in use - \[c2\]/);
  service.release('held', 'c2');
  await service.remove('held');
  // Held from inside the create: a remove queued right behind it finds it in use.
  const [, queued] = await Promise.allSettled([service.create({ name: 'raced', holdFor: 'c3' }), service.remove('raced')]);
  assert.match(String((queued as PromiseRejectedResult).reason), /remove raced: volume is in use - \[c3\]/);
  assert.equal(existsSync(join(dir, 'volumes', 'held')), false);
});

test('an anonymous volume whose container was never saved is gone after a restart; a confirmed one stays', async () => {
  const service = open();
  const orphan = await service.create({ anonymous: true, pendingFor: 'c-crashed' });
  const saved = await service.create({ anonymous: true, pendingFor: 'c-saved' });
  const unconfirmed = await service.create({ anonymous: true, pendingFor: 'c-saved-then-crash' });
  service.confirm(saved.name);
  const again = open();
  again.setUsers((name) => (name === unconfirmed.name ? ['c-saved-then-crash'] : []));
  await again.restore();
  assert.deepEqual(again.list().map((v) => v.name).sort(), [saved.name, unconfirmed.name].sort());
  assert.equal(again.get(unconfirmed.name).pendingFor, undefined);
  assert.equal(existsSync(join(dir, 'volumes', orphan.name)), false);
});
