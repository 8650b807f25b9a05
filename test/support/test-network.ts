import { createHash } from 'node:crypto';
import { configSchema } from '../../src/base/config.ts';
import { createLogger } from '../../src/base/log.ts';
import { removeHostNetworking } from '../../src/engine/engine.ts';

/**
 * Network config for a test engine: a default bridge and an address pool of its own (10.X.0.0/16 in /24s),
 * so engines of test files running side by side do not share a bridge, and none of them touches `wharf0` or
 * 172.17.0.0/16, which an installed wharf or a host dockerd may use. Derived from the root, so an engine
 * restarted on the same root (crash tests) finds its own bridge again; within the pool, the engine skips any
 * /24 that another engine's bridge (or any host route) already has.
 */
export function testNetworkConfig(root: string): { bridge: string; addressPools: { base: string; size: number }[] } {
  const hash = createHash('sha256').update(root).digest();
  return { bridge: `wt${hash.subarray(1, 6).toString('hex')}`, addressPools: [{ base: `10.${hash[0]}.0.0/16`, size: 24 }] };
}

/** The same, as the `WHARF_*` environment of a spawned `wharf serve` or engine process. */
export function testNetworkEnv(root: string): Record<string, string> {
  const network = testNetworkConfig(root);
  return { WHARF_ENGINE_NETWORK_BRIDGE: network.bridge, WHARF_ENGINE_NETWORK_ADDRESSPOOLS: JSON.stringify(network.addressPools) };
}

/** Removes the bridges and chains the engine of `root` (configured as above) left on the host; for after() hooks. */
export async function removeTestNetworking(root: string): Promise<void> {
  const config = configSchema.parse({ root, engine: { network: testNetworkConfig(root) } });
  await removeHostNetworking(config, createLogger({ level: 'silent' }));
}
