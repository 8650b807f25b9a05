import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../../base/durable-file.ts';
import type { NetworkRecord } from './network-record.ts';

const idPattern = /^[0-9a-f]{64}$/;

/**
 * Network records on disk, one file a network (`<dir>/<id>.json`, by ID because names are not file-safe),
 * replaced with write + fsync + rename as the volume records are, so a crash leaves the old record or the new one.
 */
export class NetworkRecords {
  #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  load(): NetworkRecord[] {
    const out: NetworkRecord[] = [];
    for (const file of readdirSync(this.#dir)) {
      if (!file.endsWith('.json') || !idPattern.test(file.slice(0, -'.json'.length))) continue;
      out.push(JSON.parse(readFileSync(join(this.#dir, file), 'utf8')) as NetworkRecord);
    }
    return out;
  }

  save(record: NetworkRecord): void {
    if (!idPattern.test(record.id)) throw new Error(`network record with a bad id: ${record.id}`);
    writeFileDurably(join(this.#dir, `${record.id}.json`), JSON.stringify(record));
  }

  delete(id: string): void {
    if (idPattern.test(id)) rmSync(join(this.#dir, `${id}.json`), { force: true });
  }
}
