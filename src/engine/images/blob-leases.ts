import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../base/process-alive.ts';

/** The digests an operation is about to record; see BlobLeases. */
export interface BlobLease {
  /** Names more digests: before touching a stored blob or committing a new one (or right after, well within the grace period). */
  add(digests: Iterable<string>): void;
}

/**
 * Leases on blobs, after containerd's core/leases, kept small: an operation that will make the engine's records
 * name blobs (pull, load, import, commit) holds a lease naming them from before it touches or commits them until
 * images.json names them, so a garbage collection running meanwhile marks them however long the operation takes
 * (a touch alone protects a blob only for the grace period). A lease is `<dir>/<uuid>.json` = `{pid, digests}`,
 * replaced by rename as it grows (no fsync: a crash ends the process, and with it what the lease protected) and
 * removed when the operation settles. The collector (registry/gc/engine-roots.ts) ignores a lease whose process is
 * gone; the engine removes those at start.
 */
export class BlobLeases {
  readonly #dir: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#dir = dir;
    this.#removeDead();
  }

  /** Runs `work` under a new lease, removed once `work` settles (after it wrote images.json). */
  async hold<T>(work: (lease: BlobLease) => Promise<T>): Promise<T> {
    const file = join(this.#dir, `${randomUUID()}.json`);
    const digests = new Set<string>();
    const lease: BlobLease = {
      add: (more) => {
        const before = digests.size;
        for (const digest of more) digests.add(digest);
        if (digests.size === before) return;
        writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, digests: [...digests] }), { mode: 0o600 });
        renameSync(`${file}.tmp`, file);
      },
    };
    try {
      return await work(lease);
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Leases of processes that are gone, and their half-written replacements. */
  #removeDead(): void {
    for (const name of readdirSync(this.#dir)) {
      const file = join(this.#dir, name);
      if (!name.endsWith('.json') || !processAlive(leasePid(file))) rmSync(file, { force: true });
    }
  }
}

/** Holds no lease: for an engine whose blob store no collector shares (tests over a memory store). */
export const noLeases: Pick<BlobLeases, 'hold'> = { hold: (work) => work({ add: () => undefined }) };

/** The lease's process, or 0 (no process) when the file does not read as a lease. */
function leasePid(file: string): number {
  try {
    const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}
