import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Fault } from '../base/fault.ts';
import { FsDriverWriter } from './fs-driver-writer.ts';

const mib = 1024 * 1024;

/** Counts the writer's background datasyncs (and how many overlap), optionally replacing them. */
interface SyncProbe {
  started: number;
  maxInFlight: number;
  closedWhileSyncing: boolean;
  wrap: (fh: FileHandle) => FileHandle;
}

function syncProbe(datasync?: (real: () => Promise<void>) => Promise<void>): SyncProbe {
  let inFlight = 0;
  const probe: SyncProbe = {
    started: 0,
    maxInFlight: 0,
    closedWhileSyncing: false,
    wrap: (fh) =>
      new Proxy(fh, {
        get(target, key) {
          if (key === 'datasync') return () => countSync(() => (datasync ? datasync(() => target.datasync()) : target.datasync()));
          if (key === 'close') return () => ((probe.closedWhileSyncing ||= inFlight > 0), target.close());
          const value = Reflect.get(target, key, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  };
  const countSync = async (run: () => Promise<void>): Promise<void> => {
    probe.started++;
    probe.maxInFlight = Math.max(probe.maxInFlight, ++inFlight);
    try {
      await run();
    } finally {
      inFlight--;
    }
  };
  return probe;
}

/** `total` bytes in 1 MiB chunks of one reused buffer: the test's memory stays flat. */
async function* bytes(total: number): AsyncGenerator<Uint8Array> {
  const chunk = Buffer.alloc(mib, 0x5a);
  for (let left = total; left > 0; left -= chunk.byteLength) yield left >= chunk.byteLength ? chunk : chunk.subarray(0, left);
}

async function withWriter(probe: SyncProbe, fn: (writer: FsDriverWriter, file: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-writer-'));
  const file = join(root, 'ingest', 'r', 'data');
  try {
    const writer = await FsDriverWriter.open({ path: 'ingest/r/data', file, append: false, root, wrapHandle: probe.wrap });
    await fn(writer, file);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('FsDriverWriter background datasync', () => {
  test('a write of several hundred MiB syncs in the background, one at a time, and commits durably', async () => {
    const probe = syncProbe();
    await withWriter(probe, async (writer, file) => {
      assert.equal(await writer.write(bytes(320 * mib)), 320 * mib);
      await writer.commit();
      assert.ok(probe.started >= 2, `expected background syncs, saw ${probe.started}`);
      assert.ok(probe.started <= 10, `at most one per 32 MiB, saw ${probe.started}`);
      assert.equal(probe.maxInFlight, 1);
      assert.equal(probe.closedWhileSyncing, false);
      const info = await stat(file);
      assert.equal(info.size, 320 * mib);
      assert.equal(info.mode & 0o777, 0o444);
    });
  });

  test('a small write starts no background sync', async () => {
    const probe = syncProbe();
    await withWriter(probe, async (writer) => {
      await writer.write(bytes(31 * mib));
      await writer.commit();
      assert.equal(probe.started, 0);
    });
  });

  test('a failing background datasync surfaces at commit, even though the final fsync would succeed', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });
    const probe = syncProbe(async () => {
      throw eio;
    });
    await withWriter(probe, async (writer, file) => {
      assert.equal(await writer.write(bytes(40 * mib)), 40 * mib, 'the write itself goes on');
      assert.equal(probe.started, 1);
      await assert.rejects(writer.commit(), (err) => err === eio);
      assert.equal((await stat(file)).mode & 0o777, 0o644, 'not marked committed');
      await assert.rejects(writer.write(bytes(1)), /no longer open for writing/);
    });
  });

  test('close after a failing background datasync rejects with its error and keeps the file', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const probe = syncProbe(async () => {
      throw eio;
    });
    await withWriter(probe, async (writer, file) => {
      await writer.write(bytes(32 * mib));
      await assert.rejects(writer.close(), (err) => err === eio);
      assert.equal((await stat(file)).size, 32 * mib);
      await writer.close();
    });
  });

  test('ENOSPC from a background datasync is a storage-full fault at commit', async () => {
    const probe = syncProbe(async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), { code: 'ENOSPC' });
    });
    await withWriter(probe, async (writer) => {
      await writer.write(bytes(33 * mib));
      await assert.rejects(writer.commit(), (err) => err instanceof Fault && err.kind === 'storage-full');
    });
  });

  test('close and cancel wait for the sync in flight before closing the file', async () => {
    for (const end of ['close', 'cancel'] as const) {
      let release!: () => void;
      const probe = syncProbe(async (real) => {
        await new Promise<void>((resolve) => (release = resolve));
        await real();
      });
      await withWriter(probe, async (writer, file) => {
        await writer.write(bytes(32 * mib));
        assert.equal(probe.started, 1);
        const ended = writer[end]();
        setTimeout(() => release(), 50);
        await ended;
        assert.equal(probe.closedWhileSyncing, false, end);
        if (end === 'close') assert.equal((await readFile(file)).byteLength, 32 * mib);
        else await assert.rejects(stat(file), { code: 'ENOENT' });
      });
    }
  });
});
