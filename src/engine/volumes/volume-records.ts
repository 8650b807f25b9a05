import { RecordFiles } from '../../base/record-files.ts';
import type { VolumeRecord } from './volume-record.ts';
import { volumeNamePattern } from './volume-name.ts';

/** Volume records on disk, one file a volume, by name (volume names are file-safe). */
export class VolumeRecords extends RecordFiles<VolumeRecord> {
  constructor(dir: string) {
    super(dir, { keyOf: (record) => record.name, keyPattern: volumeNamePattern });
  }
}
