import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, beforeEach, describe, test } from 'node:test';
import { createLogger } from '../../base/log.ts';
import { RegistryClient } from '../../client/registry-client.ts';
import { digestOf } from '../../oci/digest.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { EventLog } from '../events.ts';
import { RecordingSnapshotter } from '../../../test/support/recording-snapshotter.ts';
import { ImageService } from './image-service.ts';
import { ImageStore } from './image-store.ts';

describe('ImageService', () => {
  const dirs: string[] = [];
  let service: ImageService;
  let snapshotter: RecordingSnapshotter;
  let events: EventLog;
  let users: { id: string; running: boolean }[];

  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-images-'));
    dirs.push(dir);
    const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
    snapshotter = new RecordingSnapshotter();
    events = new EventLog();
    users = [];
    service = new ImageService({
      store: new ImageStore({ dir, blobs }),
      blobs,
      snapshotter,
      registry: new RegistryClient(),
      events,
      logger: createLogger({ level: 'silent' }),
    });
    service.setUsers(() => users);
  });
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const rootfs = Buffer.alloc(2048, 1);

  test('import makes a one-layer image whose diffID is the tar digest, tagged as asked', async () => {
    const id = await service.import(Readable.from([rootfs]), { repo: 'bb:1', changes: ['CMD ["sh"]'] });
    const image = service.store.resolve('bb:1');
    assert.equal(image.id, id);
    assert.equal(image.layers[0].diffId, digestOf(rootfs));
    assert.equal(image.layers[0].chainId, digestOf(rootfs));
    assert.equal(image.size, rootfs.length);
    assert.deepEqual((await service.store.config(id)).config?.Cmd, ['sh']);
    assert.ok(snapshotter.snapshots.has(digestOf(rootfs)));
    assert.deepEqual(service.store.familiarTags(id), ['bb:1']);
  });

  test('images resolve by ID, ID prefix and reference; unknown ones name the default tag', async () => {
    const id = await service.import(Readable.from([rootfs]), { repo: 'bb' });
    assert.equal(service.store.resolve(id).id, id);
    assert.equal(service.store.resolve(id.slice(7, 19)).id, id);
    assert.equal(service.store.resolve('docker.io/library/bb:latest').id, id);
    assert.throws(() => service.store.resolve('nope'), /No such image: nope:latest/);
  });

  test('rmi of one of two tags untags; of the last one deletes the image and its layer', async () => {
    const id = await service.import(Readable.from([rootfs]), { repo: 'bb' });
    service.tag('bb', 'other', 'v2');
    assert.deepEqual(await service.remove('other:v2'), [{ Untagged: 'other:v2' }]);
    const records = await service.remove('bb');
    assert.deepEqual(records, [{ Untagged: 'bb:latest' }, { Deleted: id }, { Deleted: digestOf(rootfs) }]);
    assert.equal(service.store.find(id), undefined);
    assert.equal(snapshotter.snapshots.size, 0);
  });

  test('rmi refuses images used by containers unless forced, and never while running', async () => {
    const id = await service.import(Readable.from([rootfs]), { repo: 'bb' });
    users = [{ id: 'c'.repeat(64), running: false }];
    await assert.rejects(service.remove('bb'), /must force/);
    await assert.rejects(service.remove(id), /image is being used by stopped container cccccccccccc/);
    users = [{ id: 'c'.repeat(64), running: true }];
    await assert.rejects(service.remove(id, { force: true }), /cannot be forced/);
    users = [];
    assert.ok((await service.remove(id)).some((r) => 'Deleted' in r));
  });

  test('rmi by ID of an image in two repositories needs force', async () => {
    const id = await service.import(Readable.from([rootfs]), { repo: 'one' });
    service.tag(id, 'two');
    await assert.rejects(service.remove(id.slice(7, 19)), /referenced in multiple repositories/);
    const records = await service.remove(id.slice(7, 19), { force: true });
    assert.equal(records.filter((r) => 'Untagged' in r).length, 2);
  });

  test('history lists newest first with the ID and tags on top', async () => {
    const id = await service.import(Readable.from([rootfs]), { repo: 'bb', message: 'from test' });
    const history = await service.history('bb');
    assert.equal(history.length, 1);
    assert.equal(history[0].Id, id);
    assert.deepEqual(history[0].Tags, ['bb:latest']);
    assert.equal(history[0].Comment, 'from test');
    assert.equal(history[0].Size, rootfs.length);
  });

  test('tag and import emit events', async () => {
    await service.import(Readable.from([rootfs]), { repo: 'bb' });
    const actions = events.history(0).map((e) => `${e.Type}:${e.Action}`);
    assert.deepEqual(actions, ['image:tag', 'image:import']);
  });
});
