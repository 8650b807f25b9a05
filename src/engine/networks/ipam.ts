/*
 * Container addresses per network, in memory: the container layer re-acquires each running container's address
 * at engine start, so nothing here is persisted. Rules and texts follow moby v28.5.2:
 * - libnetwork/ipams/defaultipam/allocator.go newPoolData: network and broadcast are never handed out (except in
 *   a /31 or /32), and the gateway is taken before any container;
 * - libnetwork/ipamapi/contract.go: ErrIPAlreadyAllocated (Forbidden, 403), ErrNoAvailableIPs (Unavailable, 503);
 * - api/types/network/endpoint.go validateEndpointIPAddress: `--ip` must lie in the subnet (not necessarily in
 *   the ip-range, which only bounds dynamic allocation), and daemon/network.go: "invalid IPv4 address: X".
 * Dynamic allocation is serial, continuing after the last address handed out (moby's bitseq "serial" mode), so
 * an address just freed is not reused at once and stale ARP or DNS entries of a dead container do not hit a new one.
 */
import { Fault } from '../../base/fault.ts';
import { broadcastAddress, containsAddress, formatCidr, formatIpv4, type Ipv4Prefix, networkAddress, parseCidr, parseIpv4 } from './cidr.ts';

export interface PoolConfig {
  /** CIDR of the network. */
  subnet: string;
  gateway: string;
  /** `--ip-range`: dynamic addresses come only from here. */
  ipRange?: string;
}

export interface AllocateOptions {
  /** `--ip`: this address or an error. */
  requested?: string;
  /** The container's previous address: taken when free, otherwise the next free one is. */
  preferred?: string;
}

interface Pool {
  subnet: Ipv4Prefix;
  /** Bounds of dynamic allocation, inclusive. */
  first: number;
  last: number;
  /** Network, broadcast and gateway: never a container's. */
  reserved: Set<number>;
  used: Set<number>;
  /** The last address handed out dynamically; the next search starts after it. */
  cursor: number;
}

export class Ipam {
  readonly #pools = new Map<string, Pool>();

  /** Registers a network's subnet; throws already-exists when the network has one. */
  addPool(networkId: string, config: PoolConfig): void {
    if (this.#pools.has(networkId)) throw new Fault('already-exists', `network ${networkId} already has an address pool`);
    this.#pools.set(networkId, makePool(config));
  }

  /** Forgets a network's pool and every address in it; a missing pool is not an error. */
  removePool(networkId: string): void {
    this.#pools.delete(networkId);
  }

  allocate(networkId: string, options: AllocateOptions = {}): string {
    const pool = this.#pool(networkId);
    const address = options.requested ? requestedAddress(pool, options.requested) : (preferredAddress(pool, options.preferred) ?? nextFree(pool));
    pool.used.add(address);
    return formatIpv4(address);
  }

  /** Frees an address; one that is not in use is ignored so teardown can repeat after a crash. */
  release(networkId: string, address: string): void {
    const parsed = parseIpv4(address);
    if (parsed !== undefined) this.#pools.get(networkId)?.used.delete(parsed);
  }

  /** The container addresses in use on the network, in address order. */
  inUse(networkId: string): string[] {
    return [...this.#pool(networkId).used].sort((a, b) => a - b).map(formatIpv4);
  }

  #pool(networkId: string): Pool {
    const pool = this.#pools.get(networkId);
    if (!pool) throw new Fault('not-found', `network ${networkId} has no address pool`);
    return pool;
  }
}

function makePool(config: PoolConfig): Pool {
  const subnet = parseCidr(config.subnet);
  if (!subnet) throw new Fault('invalid-argument', `invalid subnet ${config.subnet}: invalid CIDR block notation`);
  const range = config.ipRange ? parseCidr(config.ipRange) : subnet;
  if (!range) throw new Fault('invalid-argument', `invalid ip-range ${config.ipRange}: invalid CIDR block notation`);
  const reserved = new Set<number>();
  if (subnet.prefix < 31) reserved.add(networkAddress(subnet)).add(broadcastAddress(subnet));
  const gateway = parseIpv4(config.gateway);
  if (gateway === undefined || !containsAddress(subnet, gateway) || reserved.has(gateway)) {
    throw new Fault('invalid-argument', `failed to allocate gateway (${config.gateway}): no usable address ${config.gateway} in ${formatCidr(subnet)}`);
  }
  reserved.add(gateway);
  const first = Math.max(networkAddress(range), networkAddress(subnet));
  const last = Math.min(broadcastAddress(range), broadcastAddress(subnet));
  return { subnet, first, last, reserved, used: new Set(), cursor: last };
}

function requestedAddress(pool: Pool, requested: string): number {
  const address = parseIpv4(requested);
  if (address === undefined) throw new Fault('invalid-argument', `invalid IPv4 address: ${requested}`);
  if (!containsAddress(pool.subnet, address)) throw new Fault('invalid-argument', `no configured subnet or ip-range contain the IP address ${requested}`);
  if (!isFree(pool, address)) throw new Fault('permission-denied', 'Address already in use');
  return address;
}

function preferredAddress(pool: Pool, preferred: string | undefined): number | undefined {
  const address = preferred === undefined ? undefined : parseIpv4(preferred);
  return address !== undefined && containsAddress(pool.subnet, address) && isFree(pool, address) ? address : undefined;
}

function nextFree(pool: Pool): number {
  const count = pool.last - pool.first + 1;
  for (let i = 1; i <= count; i++) {
    const candidate = pool.first + ((pool.cursor - pool.first + i) % count);
    if (isFree(pool, candidate)) {
      pool.cursor = candidate;
      return candidate;
    }
  }
  throw new Fault('unavailable', 'no available addresses on this pool');
}

function isFree(pool: Pool, address: number): boolean {
  return !pool.reserved.has(address) && !pool.used.has(address);
}
