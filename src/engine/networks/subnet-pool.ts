/*
 * Choosing and checking a network's IPv4 subnet, as dockerd does. Texts and statuses follow moby v28.5.2:
 * - libnetwork/ipamapi/contract.go: ErrNoMoreSubnets (InvalidParameter), ErrPoolOverlap (Forbidden);
 * - libnetwork/ipams/defaultipam/allocator.go RequestPool: "invalid pool request: %v" around the overlap;
 * - libnetwork/ipams/defaultipam/allocator.go newPoolData: network and broadcast addresses are never handed out,
 *   except in a /31 or /32;
 * - api/types/network/ipam.go ValidateIPAM: the "invalid network config:" list for --subnet/--gateway/--ip-range.
 * The docker CLI checks the same flags before it sends them ("no matching subnet for gateway X",
 * cli/command/network/create.go); what reaches the engine is checked again here with the daemon's words, because
 * other clients (compose, the API) do not go through the CLI.
 */
import { readFile } from 'node:fs/promises';
import { Fault } from '../../base/fault.ts';
import {
  broadcastAddress,
  canonicalPrefix,
  containsAddress,
  formatCidr,
  formatIpv4,
  type Ipv4Prefix,
  isCanonical,
  networkAddress,
  parseCidr,
  parseIpv4,
  prefixesOverlap,
  prefixSize,
} from './cidr.ts';

/** One `default-address-pools` entry: `base` is split into consecutive subnets of prefix length `size`. */
export interface AddressPool {
  base: string;
  size: number;
}

export interface SubnetChoice {
  subnet: string;
  gateway: string;
}

/** A user network's IPv4 configuration as given to `docker network create`; all CIDRs and dotted quads. */
export interface SubnetRequest {
  subnet: string;
  gateway?: string;
  ipRange?: string;
}

/**
 * The first /size of the pools, in order, that overlaps none of `taken` (CIDRs: host routes and existing
 * networks). Throws invalid-argument with moby's ErrNoMoreSubnets when every candidate is taken.
 */
export function pickSubnet(pools: readonly AddressPool[], taken: string[]): SubnetChoice {
  const blocked = taken.map((cidr) => parseCidrOrThrow(cidr, 'taken subnet'));
  for (const pool of pools) {
    const found = firstFree(checkPool(pool), pool.size, blocked);
    if (found) return { subnet: formatCidr(found), gateway: formatIpv4(firstHost(found)) };
  }
  throw new Fault('invalid-argument', 'all predefined address pools have been fully subnetted');
}

function firstFree(base: Ipv4Prefix, size: number, blocked: Ipv4Prefix[]): Ipv4Prefix | undefined {
  const step = 2 ** (32 - size);
  const end = networkAddress(base) + prefixSize(base);
  let start = networkAddress(base);
  while (start < end) {
    const candidate = { address: start, prefix: size };
    const hit = blocked.find((b) => prefixesOverlap(b, candidate));
    if (!hit) return candidate;
    // Skip every candidate the blocking prefix covers, not just this one: a /8 route must not cost 2^16 probes.
    const pastHit = broadcastAddress(hit) + 1;
    start = Math.max(start + step, Math.ceil(pastHit / step) * step);
  }
  return undefined;
}

/** Checks a configured pool as dockerd's ipamutils does (canonical base, size not shorter than the base). */
export function checkPool(pool: AddressPool): Ipv4Prefix {
  const base = parseCidrOrThrow(pool.base, 'address pool base');
  if (!isCanonical(base)) {
    throw new Fault('invalid-argument', `address pool ${pool.base} is not in canonical form (${formatCidr(canonicalPrefix(base))})`);
  }
  if (!Number.isInteger(pool.size) || pool.size < base.prefix || pool.size > 32) {
    throw new Fault('invalid-argument', `address pool ${pool.base} has a smaller prefix (/${base.prefix}) than the target size of that pool (/${pool.size})`);
  }
  return base;
}

/** The address a network's gateway gets when none is given: moby reserves network and broadcast first. */
export function firstHost(subnet: Ipv4Prefix): number {
  return subnet.prefix >= 31 ? networkAddress(subnet) : networkAddress(subnet) + 1;
}

/** The default gateway for a user network: the first free address of the ip-range if any (moby's IPAM asks the range), else of the subnet. */
export function defaultGateway(request: SubnetRequest): string {
  const subnet = parseCidrOrThrow(request.subnet, 'subnet');
  const range = request.ipRange === undefined || request.ipRange === '' ? undefined : parseCidrOrThrow(request.ipRange, 'ip-range');
  if (!range || range.prefix <= subnet.prefix) return formatIpv4(firstHost(subnet));
  const start = networkAddress(range);
  return formatIpv4(start === networkAddress(subnet) ? start + 1 : start);
}

/**
 * moby's ValidateIPAM for one IPv4 config: throws invalid-argument listing every problem under
 * "invalid network config:".
 */
export function validateSubnetRequest(request: SubnetRequest): void {
  const subnet = parseCidr(request.subnet);
  if (!subnet) throw invalidConfig([`invalid subnet ${request.subnet}: invalid CIDR block notation`]);
  const problems: string[] = [];
  if (!isCanonical(subnet)) problems.push(`invalid subnet ${request.subnet}: it should be ${formatCidr(canonicalPrefix(subnet))}`);
  problems.push(...rangeProblems(request.ipRange, subnet));
  const gateway = request.gateway;
  if (gateway) {
    const address = parseIpv4(gateway);
    if (address === undefined) problems.push(`invalid gateway ${gateway}: invalid address`);
    else if (!containsAddress(subnet, address)) problems.push(`invalid gateway ${gateway}: parent subnet ${formatCidr(subnet)} doesn't contain this address`);
  }
  if (problems.length > 0) throw invalidConfig(problems);
}

function rangeProblems(ipRange: string | undefined, subnet: Ipv4Prefix): string[] {
  if (!ipRange) return [];
  const range = parseCidr(ipRange);
  if (!range) return [`invalid ip-range ${ipRange}: invalid CIDR block notation`];
  const problems: string[] = [];
  if (range.prefix < subnet.prefix) problems.push(`invalid ip-range ${ipRange}: CIDR block is bigger than its parent subnet ${formatCidr(subnet)}`);
  if (!isCanonical(range)) problems.push(`invalid ip-range ${ipRange}: it should be ${formatCidr(canonicalPrefix(range))}`);
  if (!prefixesOverlap(subnet, range)) problems.push(`invalid ip-range ${ipRange}: parent subnet ${formatCidr(subnet)} doesn't contain ip-range`);
  return problems;
}

// api/types/network/ipam.go joinError: one problem alone, several as a "* " list.
function invalidConfig(problems: string[]): Fault {
  const text = problems.length === 1 ? problems[0] : `* ${problems.join('\n* ')}`;
  return new Fault('invalid-argument', `invalid network config:\n${text}`);
}

/** Refuses a user subnet that overlaps an existing network's (moby: 403, "invalid pool request: Pool overlaps …"). */
export function checkNoOverlap(subnet: string, existing: string[]): void {
  const wanted = parseCidrOrThrow(subnet, 'subnet');
  if (existing.some((cidr) => prefixesOverlap(parseCidrOrThrow(cidr, 'existing subnet'), wanted))) {
    throw new Fault('permission-denied', 'invalid pool request: Pool overlaps with other one on this address space');
  }
}

/*
 * Blocks the host reaches otherwise than through a bridge, or that are no unicast at all: a bridge holding one
 * would take the host's loopback, link-local (cloud metadata) or multicast traffic. dockerd does not refuse them;
 * a /0 there even adds an on-link route over everything and a MASQUERADE of every forwarded packet.
 */
const reservedBlocks: readonly [string, string][] = [
  ['0.0.0.0/8', '"this network"'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/3', 'multicast and reserved'],
];

/** Refuses a user subnet no network may have (invalid-argument): /0, or one overlapping a reserved block. */
export function checkUsableSubnet(subnet: string): void {
  const wanted = parseCidrOrThrow(subnet, 'subnet');
  if (wanted.prefix === 0) throw new Fault('invalid-argument', `invalid subnet ${subnet}: a network cannot span every address`);
  for (const [block, what] of reservedBlocks) {
    if (prefixesOverlap(parseCidrOrThrow(block, 'reserved block'), wanted)) {
      throw new Fault('invalid-argument', `invalid subnet ${subnet}: it overlaps ${block} (${what}), which no network may use`);
    }
  }
}

/** One IPv4 route of the host's main table. */
export interface HostRoute {
  /** Canonical CIDR. */
  subnet: string;
  /** The outgoing device; `*` for a route with none (unreachable, blackhole). */
  device: string;
  /** A connected route (no gateway): the subnet is on that device's link, as a bridge's own subnet is. */
  onLink: boolean;
}

/**
 * The host's IPv4 routes, default route excluded, read from /proc/net/route (no `ip` spawn). dockerd 28 avoids
 * only on-link routes when it picks; we avoid every routed prefix, so a subnet never shadows a VPN's routes either.
 */
export async function hostRoutes(path = '/proc/net/route'): Promise<HostRoute[]> {
  return parseRouteTable(await readFile(path, 'utf8'));
}

// linux/route.h
const rtfGateway = 0x2;
const rtfReject = 0x200;

/** /proc/net/route: a header, then Iface, Destination, Gateway, Flags, …, Mask with addresses in host-order hex. */
export function parseRouteTable(text: string): HostRoute[] {
  const routes = new Map<string, HostRoute>();
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const destination = fromProcHex(fields[1]);
    const mask = fromProcHex(fields[7]);
    const flags = /^[0-9A-Fa-f]{1,8}$/.test(fields[3]) ? Number.parseInt(fields[3], 16) : undefined;
    if (destination === undefined || mask === undefined || mask === 0 || flags === undefined) continue;
    const subnet = formatCidr(canonicalPrefix({ address: destination, prefix: Math.clz32(~mask) }));
    const device = fields[0];
    routes.set(`${device} ${subnet}`, { subnet, device, onLink: (flags & (rtfGateway | rtfReject)) === 0 && device !== '*' });
  }
  return [...routes.values()];
}

// The kernel prints the address's bytes as a little-endian 32-bit word on the machines we run on (x86-64, arm64).
function fromProcHex(hex: string): number | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const n = Number.parseInt(hex, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | (n >>> 24)) >>> 0;
}

function parseCidrOrThrow(text: string, what: string): Ipv4Prefix {
  const parsed = parseCidr(text);
  if (!parsed) throw new Fault('invalid-argument', `invalid ${what} ${text}: invalid CIDR block notation`);
  return parsed;
}
