import { describeBlobStore } from './conformance.ts';
import { MemoryBlobStore } from './memory-blob-store.ts';

describeBlobStore('MemoryBlobStore', async () => ({ store: new MemoryBlobStore(), cleanup: async () => {} }));
