import { RecordFiles } from '../../base/record-files.ts';
import type { NetworkRecord } from './network-record.ts';

/** Network records on disk, one file a network, by ID because network names are not file-safe. */
export class NetworkRecords extends RecordFiles<NetworkRecord> {
  constructor(dir: string) {
    super(dir, { keyOf: (record) => record.id, keyPattern: /^[0-9a-f]{64}$/ });
  }
}
