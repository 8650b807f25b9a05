/*
 * The bridge NetworkDriver: a Linux bridge per network, a veth pair per endpoint, NAT and filtering through
 * iptables-restore in chains of this engine's own (bridge-firewall.ts). Attaching costs two `ip -batch` spawns and
 * one `iptables-restore` when ports are published; detaching one `ip` and one `iptables-restore`.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import {
  bridgeChains,
  chainPrefix,
  chainTables,
  forwardRules,
  isNetworkRule,
  jumpRules,
  networkRules,
  portRules,
  restoreLines,
  type BridgeChains,
  type Rule,
  type Table,
} from './bridge-firewall.ts';
import { checkEndpoint, checkNetwork } from './driver-checks.ts';
import { ipBatch, iptablesRestore, iptablesRules, isMissingDevice, isMissingRule, runHostCommand } from './host-commands.ts';
import type { DriverEndpoint, DriverNetwork, NetworkDriver } from './network-driver.ts';
import { netnsName } from './netns.ts';

export interface BridgeDriverOptions {
  /** 8 hex, stable per data root: names this engine's firewall chains apart from other engines' on the host. */
  instance: string;
  logger: Logger;
}

type TableRules = Record<Table, string[]>;

const tables: Table[] = ['nat', 'filter'];

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly #chains: BridgeChains;
  readonly #prefix: string;
  readonly #logger: Logger;

  constructor(options: BridgeDriverOptions) {
    if (!/^[0-9a-f]{8}$/.test(options.instance)) throw new Fault('invalid-argument', `invalid network instance ${JSON.stringify(options.instance)}: want 8 hex digits`);
    this.#chains = bridgeChains(options.instance);
    this.#prefix = chainPrefix(options.instance);
    this.#logger = options.logger;
  }

  async init(): Promise<void> {
    await this.#enableForwarding();
    const present = await this.#readRules();
    const missingJumps = jumpRules(this.#chains).filter((jump) => !present[jump.table].includes(`-A ${jump.chain} ${jump.spec}`));
    // Declaring a chain creates it or flushes it: a previous run's port forwards (its containers died with it)
    // and network rules (createNetwork remakes them at start) go in the same step.
    const declared: TableRules = { nat: [], filter: [] };
    for (const [table, chain] of chainTables(this.#chains)) declared[table].push(`:${chain} - [0:0]`);
    const fixed = restoreLines(forwardRules(this.#chains), '-A');
    const jumps = restoreLines(missingJumps, '-I');
    await iptablesRestore({
      nat: [...declared.nat, ...fixed.nat, ...jumps.nat],
      filter: [...declared.filter, ...fixed.filter, ...jumps.filter],
    });
  }

  async createNetwork(network: DriverNetwork): Promise<void> {
    checkNetwork(network);
    await this.#makeBridge(network);
    // Lets 127.0.0.1:<published port>, DNATed in OUTPUT, leave by the bridge with its loopback source.
    await writeFile(`/proc/sys/net/ipv4/conf/${network.bridge}/route_localnet`, '1');
    await this.#replaceNetworkRules(network.bridge, networkRules(this.#chains, network));
  }

  async deleteNetwork(network: DriverNetwork): Promise<void> {
    checkNetwork(network);
    await this.#replaceNetworkRules(network.bridge, []);
    await deleteLink(network.bridge);
  }

  async attach(endpoint: DriverEndpoint): Promise<void> {
    checkEndpoint(endpoint);
    const netns = netnsName(endpoint.netnsPath);
    // A host veth of this endpoint means an attach already ran (or half ran): start again from nothing.
    const again = existsSync(`/sys/class/net/${endpoint.hostIfname}`);
    const results = await Promise.allSettled([this.#plug(endpoint, netns, again), this.#publish(endpoint, again)]);
    const failure = results.find((result) => result.status === 'rejected');
    if (!failure) return;
    await this.detach(endpoint).catch((err: unknown) => this.#logger.warn({ err, endpoint: endpoint.hostIfname }, 'undoing a failed attach failed'));
    throw failure.reason;
  }

  async detach(endpoint: DriverEndpoint): Promise<void> {
    checkEndpoint(endpoint);
    const results = await Promise.allSettled([this.#unpublish(endpoint), deleteLink(endpoint.hostIfname)]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async reset(): Promise<void> {
    const present = await this.#readRules();
    const batch: TableRules = { nat: [], filter: [] };
    for (const table of tables) {
      const own = present[table].filter((line) => line.startsWith(`-N ${this.#prefix}`)).map((line) => line.slice(3));
      const jumps = present[table].filter((line) => this.#isJump(line)).map((line) => `-D${line.slice(2)}`);
      // Flushing every chain first drops the references between them, so they can then go in any order.
      batch[table] = [...jumps, ...own.map((chain) => `:${chain} - [0:0]`), ...own.map((chain) => `-X ${chain}`)];
    }
    await iptablesRestore(batch);
  }

  /** A rule of a chain that is not ours whose target is one of our chains. */
  #isJump(line: string): boolean {
    const words = line.split(' ');
    const jump = words.indexOf('-j');
    if (words[0] !== '-A' || words[1]?.startsWith(this.#prefix) || jump < 0) return false;
    return words[jump + 1]?.startsWith(this.#prefix) ?? false;
  }

  async #readRules(): Promise<TableRules> {
    const [nat, filter] = await Promise.all(tables.map((table) => iptablesRules(table)));
    return { nat, filter };
  }

  async #enableForwarding(): Promise<void> {
    const path = '/proc/sys/net/ipv4/ip_forward';
    if ((await readFile(path, 'utf8')).trim() !== '0') return;
    await writeFile(path, '1');
    this.#logger.info('enabled IPv4 forwarding (net.ipv4.ip_forward=1) for bridge networks, as dockerd does');
  }

  async #makeBridge(network: DriverNetwork): Promise<void> {
    const { bridge, mtu } = network;
    const exists = existsSync(`/sys/class/net/${bridge}`);
    if (exists && !existsSync(`/sys/class/net/${bridge}/bridge`)) throw new Fault('conflict', `device ${bridge} exists and is not a bridge`);
    const prefix = network.subnet.split('/')[1];
    // A MAC set at creation stays; otherwise the bridge takes its lowest port's and containers' ARP entries for the
    // gateway go stale whenever one joins or leaves (moby sets a random one too).
    const add = `link add ${bridge} address ${randomMac()}${mtu ? ` mtu ${mtu}` : ''} type bridge`;
    await ipBatch([
      ...(exists ? (mtu ? [`link set ${bridge} mtu ${mtu}`] : []) : [add]),
      `addr replace ${network.gateway}/${prefix} dev ${bridge}`,
      `link set ${bridge} up`,
    ]);
  }

  /** Deletes the rules that name `bridge` and appends `rules`, in one atomic batch. */
  async #replaceNetworkRules(bridge: string, rules: Rule[]): Promise<void> {
    const present = await this.#readRules();
    const added = restoreLines(rules, '-A');
    const batch: TableRules = { nat: [], filter: [] };
    for (const table of tables) {
      const stale = present[table].filter((line) => line.startsWith(`-A ${this.#prefix}`) && isNetworkRule(line, bridge));
      batch[table] = [...stale.map((line) => `-D${line.slice(2)}`), ...added[table]];
    }
    await iptablesRestore(batch);
  }

  async #plug(endpoint: DriverEndpoint, netns: string, again: boolean): Promise<void> {
    const { network, hostIfname, ifname } = endpoint;
    const mtu = network.mtu ? ` mtu ${network.mtu}` : '';
    await ipBatch([
      ...(again ? [`link del ${hostIfname}`] : []),
      `link add ${hostIfname}${mtu} master ${network.bridge} up type veth peer name ${ifname} address ${endpoint.mac}${mtu} netns ${netns}`,
    ]);
    // An internal network has no way out, so its gateway is not a default route (as moby).
    const route = endpoint.defaultRoute && !network.internal ? [`route replace default via ${network.gateway} dev ${ifname}`] : [];
    await ipBatch([`addr add ${endpoint.address}/${endpoint.prefixLength} dev ${ifname}`, `link set ${ifname} up`, ...route], { netns });
  }

  async #publish(endpoint: DriverEndpoint, again: boolean): Promise<void> {
    const rules = portRules(this.#chains, endpoint);
    if (rules.length === 0) return;
    if (again) await this.#unpublish(endpoint);
    await iptablesRestore(restoreLines(rules, '-A'));
  }

  /** One batch; when some rule is already gone the batch fails whole, so then one rule at a time. */
  async #unpublish(endpoint: DriverEndpoint): Promise<void> {
    const rules = portRules(this.#chains, endpoint);
    if (rules.length === 0) return;
    try {
      await iptablesRestore(restoreLines(rules, '-D'));
    } catch (err) {
      if (!isMissingRule(err)) throw err;
      for (const rule of rules) await iptablesRestore(restoreLines([rule], '-D')).catch(ignoreMissingRule);
    }
  }
}

function ignoreMissingRule(err: unknown): void {
  if (!isMissingRule(err)) throw err;
}

/** `ip link del`; a device that is already gone is fine. Deleting one end of a veth pair deletes both. */
async function deleteLink(name: string): Promise<void> {
  if (!existsSync(`/sys/class/net/${name}`)) return;
  await runHostCommand(['ip', 'link', 'del', name]).catch((err: unknown) => {
    if (!isMissingDevice(err)) throw err;
  });
}

/** A random unicast, locally administered MAC. */
function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
