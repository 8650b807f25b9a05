import { MemoryDriver } from './memory-driver.ts';
import { describeStorageDriver } from './storage-driver-conformance.ts';

describeStorageDriver('MemoryDriver', async () => ({ driver: new MemoryDriver(), cleanup: async () => {} }));
