import type { ContainerRecord } from './container-record.ts';

/**
 * Something a container holds only while it runs (volume mounts with driver options, network endpoints):
 * acquired before its process starts, released after it exits. A new kind plugs in here, not in the verbs.
 */
export interface ContainerResource {
  readonly name: string;
  acquire(record: ContainerRecord): Promise<void>;
  /** Must not throw: a release failure is logged where it happens, and the others are still released. */
  release(record: ContainerRecord): Promise<void>;
  /** After an engine crash: drops what the dead run left on the host. May throw; restore logs it. */
  recover?(record: ContainerRecord): Promise<void>;
  /** Whether a run that was never recorded as running (the engine died while starting it) left this behind. */
  leftBehind?(record: ContainerRecord): boolean;
}

/**
 * Acquires `resources` in order. If one fails, the ones before it and the failing one itself (which may hold
 * part of what it tried) are released in reverse order, then the error is thrown.
 */
export async function acquireAll(resources: readonly ContainerResource[], record: ContainerRecord): Promise<void> {
  for (const [index, resource] of resources.entries()) {
    try {
      await resource.acquire(record);
    } catch (err) {
      await releaseAll(resources.slice(0, index + 1), record);
      throw err;
    }
  }
}

/** Releases `resources` in reverse order of acquisition. */
export async function releaseAll(resources: readonly ContainerResource[], record: ContainerRecord): Promise<void> {
  for (const resource of [...resources].reverse()) await resource.release(record);
}
