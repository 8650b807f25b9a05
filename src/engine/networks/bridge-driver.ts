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
  isNetworkRule,
  jumpRules,
  networkRules,
  portRules,
  restoreLines,
  type BridgeChains,
  type Jump,
  type Rule,
  type Table,
} from './bridge-firewall.ts';
import { checkEndpoint, checkNetwork, isInterfaceName } from './driver-checks.ts';
import { ipBatch, iptablesRestore, iptablesRules, isMissingDevice, isMissingRule, runHostCommand } from './host-commands.ts';
import type { DriverEndpoint, DriverNetwork, NetworkDriver } from './network-driver.ts';
import { netnsName } from './netns.ts';

export interface BridgeDriverOptions {
  /** 8 hex, stable per data root: names this engine's firewall chains apart from other engines' on the host. */
  instance: string;
  logger: Logger;
}

type TableRules = Record<Table, string[]>;

const tables: Table[] = ['raw', 'nat', 'filter'];

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly #chains: BridgeChains;
  readonly #prefix: string;
  readonly #instance: string;
  readonly #logger: Logger;

  constructor(options: BridgeDriverOptions) {
    if (!/^[0-9a-f]{8}$/.test(options.instance)) throw new Fault('invalid-argument', `invalid network instance ${JSON.stringify(options.instance)}: want 8 hex digits`);
    this.#chains = bridgeChains(options.instance);
    this.#prefix = chainPrefix(options.instance);
    this.#instance = options.instance;
    this.#logger = options.logger;
  }

  async init(): Promise<void> {
    await this.#enableForwarding();
    const present = await this.#readRules();
    const chains = chainTables(this.#chains);
    const jumps = jumpRules(this.#chains);
    const batch = this.#removal(present, new Set(chains.map(([, chain]) => chain)), jumps);
    // Declaring a chain creates it or flushes it: a previous run's port forwards (its containers died with it)
    // and network rules (createNetwork remakes them at start) go in the same step.
    for (const [table, chain] of chains) batch[table].push(`:${chain} - [0:0]`);
    for (const jump of jumps) if (!present[jump.table].includes(ruleLine(jump))) batch[jump.table].push(`${jump.at} ${jump.chain} ${jump.spec}`);
    await iptablesRestore(batch);
  }

  async createNetwork(network: DriverNetwork): Promise<void> {
    checkNetwork(network);
    // Checked before any rule names the device: rules for someone else's bridge would change its traffic.
    const exists = await this.#ownDevice(network);
    await this.#makeBridge(network, exists);
    await this.#replaceNetworkRules(network.bridge, networkRules(this.#chains, network));
    // Lets 127.0.0.1:<published port>, DNATed in OUTPUT, leave by the bridge with its loopback source. Only once
    // the raw rule that keeps containers off the host's loopback is in place.
    await writeFile(`/proc/sys/net/ipv4/conf/${network.bridge}/route_localnet`, '1');
  }

  /** A name that fails the check was never made (createNetwork refuses it), so there is nothing to remove. */
  async deleteNetwork(network: DriverNetwork): Promise<void> {
    if (!isInterfaceName(network.bridge)) return;
    await this.#replaceNetworkRules(network.bridge, []);
    const mark = await readMark(network.bridge);
    if (mark === this.#mark(network)) await deleteLink(network.bridge);
    else if (mark !== undefined) this.#logger.warn({ device: network.bridge }, 'left the device in place: it is not this engine\'s');
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
    await iptablesRestore(this.#removal(await this.#readRules(), new Set(), []));
  }

  /**
   * The lines that delete this engine's chains and the jumps into them, except the chains in `keep` and the
   * `jumps` listed (init keeps the current ones and drops what an older layout left). Flushing every chain first
   * drops the references between them, so they can then go in any order.
   */
  #removal(present: TableRules, keep: ReadonlySet<string>, jumps: readonly Jump[]): TableRules {
    const wanted = new Set(jumps.map(ruleLine));
    const batch: TableRules = { raw: [], nat: [], filter: [] };
    for (const table of tables) {
      const own = present[table].filter((line) => line.startsWith(`-N ${this.#prefix}`)).map((line) => line.slice(3)).filter((chain) => !keep.has(chain));
      const stale = present[table].filter((line) => this.#isJump(line) && !wanted.has(line)).map((line) => `-D${line.slice(2)}`);
      batch[table] = [...stale, ...own.map((chain) => `:${chain} - [0:0]`), ...own.map((chain) => `-X ${chain}`)];
    }
    return batch;
  }

  /** A rule of a chain that is not ours whose target is one of our chains. */
  #isJump(line: string): boolean {
    const words = line.split(' ');
    const jump = words.indexOf('-j');
    if (words[0] !== '-A' || words[1]?.startsWith(this.#prefix) || jump < 0) return false;
    return words[jump + 1]?.startsWith(this.#prefix) ?? false;
  }

  /** The alias this engine gives the bridges it makes; only a device carrying it is reused or deleted. */
  #mark(network: DriverNetwork): string {
    return `wharf:${this.#instance}:${network.id.slice(0, 12)}`;
  }

  /** True when the network's bridge exists and is ours; false when it does not exist; a conflict otherwise. */
  async #ownDevice(network: DriverNetwork): Promise<boolean> {
    const { bridge } = network;
    const mark = await readMark(bridge);
    if (mark === undefined) return false;
    if (mark !== this.#mark(network)) throw new Fault('conflict', `device ${bridge} exists and is not this engine's`);
    if (!existsSync(`/sys/class/net/${bridge}/bridge`)) throw new Fault('conflict', `device ${bridge} exists and is not a bridge`);
    return true;
  }

  async #readRules(): Promise<TableRules> {
    const [raw, nat, filter] = await Promise.all(tables.map((table) => iptablesRules(table)));
    return { raw, nat, filter };
  }

  async #enableForwarding(): Promise<void> {
    const path = '/proc/sys/net/ipv4/ip_forward';
    if ((await readFile(path, 'utf8')).trim() !== '0') return;
    await writeFile(path, '1');
    this.#logger.info('enabled IPv4 forwarding (net.ipv4.ip_forward=1) for bridge networks, as dockerd does');
  }

  async #makeBridge(network: DriverNetwork, exists: boolean): Promise<void> {
    const { bridge, mtu } = network;
    const prefix = network.subnet.split('/')[1];
    // A MAC set at creation stays; otherwise the bridge takes its lowest port's and containers' ARP entries for the
    // gateway go stale whenever one joins or leaves (moby sets a random one too).
    const add = [`link add name ${bridge} address ${randomMac()}${mtu ? ` mtu ${mtu}` : ''} type bridge`, `link set dev ${bridge} alias ${this.#mark(network)}`];
    await ipBatch([
      ...(exists ? (mtu ? [`link set dev ${bridge} mtu ${mtu}`] : []) : add),
      `addr replace ${network.gateway}/${prefix} dev ${bridge}`,
      `link set dev ${bridge} up`,
    ]);
  }

  /** Deletes the rules that name `bridge` and appends `rules`, in one atomic batch. */
  async #replaceNetworkRules(bridge: string, rules: Rule[]): Promise<void> {
    const present = await this.#readRules();
    const added = restoreLines(rules, '-A');
    const batch: TableRules = { raw: [], nat: [], filter: [] };
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
      ...(again ? [`link del dev ${hostIfname}`] : []),
      `link add name ${hostIfname}${mtu} master ${network.bridge} up type veth peer name ${ifname} address ${endpoint.mac}${mtu} netns ${netns}`,
    ]);
    // An internal network has no way out, so its gateway is not a default route (as moby).
    const route = endpoint.defaultRoute && !network.internal ? [`route replace default via ${network.gateway} dev ${ifname}`] : [];
    await ipBatch([`addr add ${endpoint.address}/${endpoint.prefixLength} dev ${ifname}`, `link set dev ${ifname} up`, ...route], { netns });
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

/** How `iptables -S` prints a rule. */
function ruleLine(rule: Rule): string {
  return `-A ${rule.chain} ${rule.spec}`;
}

/** The device's alias ('' when it has none), or undefined when there is no such device; read without a spawn. */
async function readMark(device: string): Promise<string | undefined> {
  try {
    return (await readFile(`/sys/class/net/${device}/ifalias`, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** `ip link del`; a device that is already gone is fine. Deleting one end of a veth pair deletes both. */
async function deleteLink(name: string): Promise<void> {
  if (!existsSync(`/sys/class/net/${name}`)) return;
  await runHostCommand(['ip', 'link', 'del', 'dev', name]).catch((err: unknown) => {
    if (!isMissingDevice(err)) throw err;
  });
}

/** A random unicast, locally administered MAC. */
function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
