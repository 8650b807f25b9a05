import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createLogger } from '../../src/base/log.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { EventLog } from '../../src/engine/events.ts';
import { ImageService } from '../../src/engine/images/image-service.ts';
import { ImageStore } from '../../src/engine/images/image-store.ts';
import { DriverBlobStore } from '../../src/store/driver-blob-store.ts';
import { MemoryDriver } from '../../src/store/memory-driver.ts';
import { RecordingSnapshotter } from './recording-snapshotter.ts';

export interface ImageFixture {
  dir: string;
  blobs: DriverBlobStore;
  service: ImageService;
  snapshotter: RecordingSnapshotter;
  /** The containers the service is told use each image ID. */
  users: Map<string, { id: string; running: boolean }[]>;
  /** A one-layer image of `bytes` bytes of `fill`, tagged `repo` when given. */
  base(fill: number, repo?: string): Promise<string>;
  /** A `docker commit` of a container of `parent` that wrote one layer of `fill` bytes. */
  commit(parent: string, fill: number, options?: { repo?: string; createdBy?: string; buildKey?: string }): Promise<string>;
  /** A new store over the same directory and blobs, as after an engine restart. */
  reopen(): ImageStore;
  close(): void;
}

/** An ImageService on a temp dir, in-memory blobs and a recording snapshotter: image bookkeeping without a host. */
export function imageFixture(): ImageFixture {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-image-fixture-'));
  const blobs = new DriverBlobStore({ driver: new MemoryDriver() });
  const snapshotter = new RecordingSnapshotter();
  const users = new Map<string, { id: string; running: boolean }[]>();
  const service = new ImageService({
    store: new ImageStore({ dir, blobs }),
    blobs,
    snapshotter,
    registry: new RegistryClient(),
    events: new EventLog(),
    logger: createLogger({ level: 'silent' }),
  });
  service.setUsers((id) => users.get(id) ?? []);
  return {
    dir,
    blobs,
    service,
    snapshotter,
    users,
    base: (fill, repo) => service.import(Readable.from([Buffer.alloc(1024, fill)]), { repo }),
    commit: (parent, fill, options = {}) =>
      service.commit(
        Readable.from([Buffer.alloc(512 + fill, fill)]),
        { imageId: parent, containerId: fill.toString(16).padStart(64, 'c'), config: { Cmd: ['sh'] }, createdBy: options.createdBy ?? `step ${fill}` },
        { repo: options.repo, buildKey: options.buildKey },
      ),
    reopen: () => new ImageStore({ dir, blobs }),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
