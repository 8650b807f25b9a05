import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { VolumeRecord } from './volume-record.ts';
import { volumeNamePattern } from './volume-name.ts';
import { writeFileDurably } from '../../base/durable-file.ts';

/**
 * Volume records on disk, one file a volume (`<dir>/<name>.json`), replaced with write + fsync + rename as the
 * container store does, so a crash leaves the old record or the new one. A volume exists once its record does.
 */
export class VolumeRecords {
  #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  load(): VolumeRecord[] {
    const out: VolumeRecord[] = [];
    for (const file of readdirSync(this.#dir)) {
      const name = file.replace(/\.json$/, '');
      if (!file.endsWith('.json') || !volumeNamePattern.test(name)) continue;
      out.push(JSON.parse(readFileSync(join(this.#dir, file), 'utf8')) as VolumeRecord);
    }
    return out;
  }

  save(record: VolumeRecord): void {
    const file = join(this.#dir, `${record.name}.json`);
    writeFileDurably(file, JSON.stringify(record));
  }

  delete(name: string): void {
    rmSync(join(this.#dir, `${name}.json`), { force: true });
  }
}
