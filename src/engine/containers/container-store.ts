import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Fault } from '../../base/fault.ts';
import { containerNameConflict, NameReserver } from './container-names.ts';
import type { ContainerRecord } from './container-record.ts';
import { writeFileDurably } from '../../base/durable-file.ts';

const idPattern = /^[a-f0-9]{64}$/;

/**
 * Container records, one directory per container (`<dir>/<id>/config.v2.json`, replaced atomically with
 * fsync + rename so a crash leaves the old or the new record, never half of one), indexed by ID and name.
 */
export class ContainerStore {
  #dir: string;
  #byId = new Map<string, ContainerRecord>();
  #names = new NameReserver(containerNameConflict);
  #duplicates: ContainerRecord[] = [];

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
    const records: ContainerRecord[] = [];
    for (const id of readdirSync(dir)) {
      const file = join(dir, id, 'config.v2.json');
      if (!idPattern.test(id) || !existsSync(file)) continue;
      records.push(JSON.parse(readFileSync(file, 'utf8')) as ContainerRecord);
    }
    // Of records that share a name (left by an engine without atomic reservation), the oldest keeps it.
    records.sort((a, b) => Date.parse(a.created) - Date.parse(b.created));
    for (const record of records) {
      if (this.#names.holderOf(record.name) !== undefined) {
        this.#duplicates.push(record);
        continue;
      }
      this.#names.reserve(record.name, record.id);
      this.#byId.set(record.id, record);
    }
  }

  /** Records not loaded because an older container holds their name (restore logs them; their data is kept). */
  duplicates(): readonly ContainerRecord[] {
    return this.#duplicates;
  }

  /** Reserves a name (`/name`) for a container being created or renamed; Fault conflict when it is taken. */
  reserveName(name: string, id: string): void {
    this.#names.reserve(name, id);
  }

  releaseName(name: string, id: string): void {
    this.#names.release(name, id);
  }

  /** The directory holding a container's record, logs and bundle. */
  dirOf(id: string): string {
    return join(this.#dir, id);
  }

  list(): ContainerRecord[] {
    return [...this.#byId.values()];
  }

  get(id: string): ContainerRecord | undefined {
    return this.#byId.get(id);
  }

  byName(name: string): ContainerRecord | undefined {
    const holder = this.#names.holderOf(name.startsWith('/') ? name : `/${name}`);
    return holder === undefined ? undefined : this.#byId.get(holder);
  }

  /** moby's lookup order: full ID, exact name, unique ID prefix. */
  resolve(input: string): ContainerRecord {
    const found = this.find(input);
    if (!found) throw new Fault('not-found', `No such container: ${input}`);
    return found;
  }

  find(input: string): ContainerRecord | undefined {
    if (!input) return undefined;
    const exact = this.#byId.get(input) ?? this.byName(input);
    if (exact) return exact;
    if (!/^[a-f0-9]+$/.test(input)) return undefined;
    const matches = [...this.#byId.keys()].filter((id) => id.startsWith(input));
    if (matches.length > 1) throw new Fault('invalid-argument', `multiple IDs found with provided prefix: ${input}`);
    return matches.length ? this.#byId.get(matches[0]) : undefined;
  }

  /** Writes the record (after any change: state, name, restart count). */
  save(record: ContainerRecord): void {
    this.#names.reserve(record.name, record.id);
    this.#byId.set(record.id, record);
    const dir = this.dirOf(record.id);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'config.v2.json');
    writeFileDurably(file, JSON.stringify(record));
  }

  /** Drops the record and its directory (logs, bundle). */
  delete(id: string): void {
    const record = this.#byId.get(id);
    if (record) this.#names.release(record.name, id);
    this.#byId.delete(id);
    rmSync(this.dirOf(id), { recursive: true, force: true });
  }
}
