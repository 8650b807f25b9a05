/**
 * The engine alone in its own process: benchmarks measure its memory, crash tests kill -9 it.
 * node test/e2e/engine-daemon.ts <root> <socket>. Stops cleanly on SIGTERM.
 */
import { configSchema } from '../../src/base/config.ts';
import { createLogger } from '../../src/base/log.ts';
import { startEngine } from '../../src/engine/engine.ts';
import { DriverBlobStore } from '../../src/store/driver-blob-store.ts';
import { FsDriver } from '../../src/store/fs-driver.ts';
import { testNetworkConfig } from '../support/test-network.ts';

const [root, socket] = process.argv.slice(2);
const config = configSchema.parse({ root, engine: { socket, network: testNetworkConfig(root) }, log: { level: 'warn' } });
const engine = await startEngine({ config, blobs: new DriverBlobStore({ driver: new FsDriver({ root }) }), logger: createLogger({ level: 'warn' }) });
process.once('SIGTERM', () => {
  void engine.close().then(() => process.exit(0));
});
