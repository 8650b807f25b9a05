import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { EventLog } from '../events.ts';
import { bridgeOption, checkCreatePreamble, checkCreateRequest, type NetworkCreateRequest, type NetworkCreateSpec } from './network-create-request.ts';
import type { DriverNetwork, NetworkDriver } from './network-driver.ts';
import { isPredefinedName, type NetworkPool, type NetworkRecord } from './network-record.ts';
import type { NetworkRecords } from './network-records.ts';
import { checkNoOverlap, checkUsableSubnet, defaultGateway, type HostRoute, pickSubnet, validateSubnetRequest, type AddressPool } from './subnet-pool.ts';

/** The part of IPAM the service drives: one pool a network, made before its bridge and dropped after it. */
export interface NetworkIpam {
  addPool(networkId: string, pool: NetworkPool): void | Promise<void>;
  removePool(networkId: string): void | Promise<void>;
}

/** The embedded DNS: one listener a user network, on its gateway. */
export interface NetworkDns {
  addNetwork(networkId: string, gateway: string, options: { name?: string; subnet: string }): Promise<void>;
  removeNetwork(networkId: string): Promise<void>;
}

export interface NetworkServiceConfig {
  /** `engine.network.bridge`: the default network's device. */
  bridge: string;
  /** `engine.network.defaultSubnet`; '' = the first free subnet of the pools. */
  defaultSubnet: string;
  addressPools: AddressPool[];
}

export interface NetworkServiceDeps {
  records: NetworkRecords;
  driver: NetworkDriver;
  ipam: NetworkIpam;
  dns: NetworkDns;
  events: EventLog;
  logger: Logger;
  config: NetworkServiceConfig;
  /** The host's routes: a picked subnet overlaps none, a user's none on-link on a device not ours. */
  hostRoutes: () => Promise<HostRoute[]>;
  /** Whether a device of that name is on the host (a user network never takes over someone else's). */
  deviceExists?: (name: string) => boolean;
  now?: () => number;
  newId?: () => string;
}

/** One container on a network, as the container layer reports it (inspect's `Containers`). */
export interface NetworkEndpointInfo {
  containerId: string;
  name: string;
  endpointId: string;
  mac: string;
  /** With its prefix length: `172.18.0.2/16`. */
  ipv4Address: string;
}

/** moby's EndpointSettings as `network connect` and the create body's EndpointsConfig give it. */
export interface EndpointConfig {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** `network connect|disconnect`, done by the container layer (set once it exists, like the endpoints). */
export interface NetworkConnector {
  connect(container: string, network: NetworkRecord, endpointConfig: EndpointConfig): Promise<void>;
  disconnect(container: string, network: NetworkRecord, force: boolean): Promise<void>;
}

/** A network as the container layer attaches to it. */
export interface NetworkAttachment {
  id: string;
  name: string;
  driverName: string;
  /** Bridge networks only. */
  driver?: DriverNetwork;
  /** User-defined networks answer container names through the embedded DNS; the default bridge does not (moby). */
  dns: boolean;
  isDefaultBridge: boolean;
  record: NetworkRecord;
}

const unconnected: NetworkConnector = {
  connect: async () => {
    throw new Fault('unavailable', 'network connect: the container layer is not ready');
  },
  disconnect: async () => {
    throw new Fault('unavailable', 'network disconnect: the container layer is not ready');
  },
};

/**
 * Networks by ID (moby daemon/network.go + libnetwork's controller): the predefined bridge, host and none, and
 * user-defined bridge networks. A network's host side (IPAM pool, bridge, DNS listener) is made in that order and
 * undone in reverse; its record is marked pending while either happens, so a crash in between leaves nothing
 * visible and the next start removes the rest. Creates, removes and prunes are serialised.
 */
export class NetworkService {
  #deps: NetworkServiceDeps;
  #byId = new Map<string, NetworkRecord>();
  #serial: Promise<unknown> = Promise.resolve();
  #endpoints: (networkId: string) => NetworkEndpointInfo[] = () => [];
  #connector: NetworkConnector = unconnected;

  constructor(deps: NetworkServiceDeps) {
    this.#deps = deps;
    for (const record of deps.records.load()) this.#byId.set(record.id, record);
  }

  /** Who is on each network, from the container layer. */
  setEndpoints(endpoints: (networkId: string) => NetworkEndpointInfo[]): void {
    this.#endpoints = endpoints;
  }

  setConnector(connector: NetworkConnector): void {
    this.#connector = connector;
  }

  /**
   * At engine start, before any container: the driver's own state first, then what a crash left half made is
   * removed, every network's host side is brought back, and the predefined networks are made on the first start
   * (the default bridge is remade, keeping its ID, when its configured device or subnet changed).
   */
  async restore(): Promise<void> {
    await this.#deps.driver.init();
    for (const record of [...this.#byId.values()]) if (record.pending) await this.#discard(record);
    const stale = this.#byName('bridge');
    if (stale && !this.#isConfiguredBridge(stale)) await this.#discard(stale);
    for (const record of this.list()) {
      if (record.driver !== 'bridge') continue;
      try {
        await this.#bringUp(record);
      } catch (err) {
        if (record.name === 'bridge') throw err;
        // A user network that cannot come back (its device name taken meanwhile, its DNS port held) must not keep
        // the engine and every other container down: its own containers fail to start, naming the cause.
        this.#deps.logger.error({ err, network: record.name }, 'network could not be brought up');
      }
    }
    if (!this.#byName('bridge')) await this.#make(await this.#defaultBridgeRecord(stale));
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!this.#byName(name)) await this.#make(this.#newRecord({ name, driver, pools: [], options: {} }));
    }
  }

  /** Every network, predefined first, then by creation. */
  list(): NetworkRecord[] {
    const visible = [...this.#byId.values()].filter((r) => !r.pending);
    const rank = (r: NetworkRecord) => (isPredefinedName(r.name) ? 0 : 1);
    // Networks made in the same millisecond (the three predefined ones at first start) tie on created; the name
    // settles them so the order does not follow the records' order on disk.
    return visible.sort((a, b) => rank(a) - rank(b) || a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }

  /** moby FindNetwork: full ID, then exact name, then a unique ID prefix. */
  find(idOrName: string): NetworkRecord {
    const all = this.list();
    const exact = all.find((r) => r.id === idOrName) ?? all.find((r) => r.name === idOrName);
    if (exact) return exact;
    const byPrefix = idOrName ? all.filter((r) => r.id.startsWith(idOrName)) : [];
    if (byPrefix.length > 1) {
      throw new Fault('invalid-argument', `network ${idOrName} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    }
    if (!byPrefix.length) throw new Fault('not-found', `network ${idOrName} not found`);
    return byPrefix[0];
  }

  endpointsOf(networkId: string): NetworkEndpointInfo[] {
    return this.#endpoints(networkId);
  }

  /** What the container layer needs to attach a container to a network. */
  networkFor(idOrName: string): NetworkAttachment {
    return attachmentOf(this.find(idOrName));
  }

  defaultBridge(): NetworkAttachment {
    return this.networkFor('bridge');
  }

  async create(request: NetworkCreateRequest): Promise<NetworkRecord> {
    checkCreatePreamble(request);
    return this.#serially(async () => {
      if (this.#byName(request.Name ?? '')) throw new Fault('already-exists', `network with name ${request.Name} already exists`);
      const spec = checkCreateRequest(request);
      const id = this.#newId();
      const device = spec.bridge ?? `br-${id.slice(0, 12)}`;
      this.#checkDevice(id, device);
      const pool = await this.#poolFor(spec);
      const record = this.#newRecord({
        id,
        name: spec.name,
        driver: 'bridge',
        pools: [pool],
        options: spec.options,
        bridge: { device, masquerade: spec.masquerade, mtu: spec.mtu },
        internal: spec.internal,
        attachable: spec.attachable,
        labels: spec.labels,
        ipamOptions: spec.ipamOptions,
      });
      await this.#make(record);
      return record;
    });
  }

  /** moby DeleteNetwork: never a predefined network, never one a container is on. */
  remove(idOrName: string): Promise<void> {
    return this.#serially(async () => {
      const record = this.find(idOrName);
      if (isPredefinedName(record.name)) throw new Fault('permission-denied', `${record.name} is a pre-defined network and cannot be removed`);
      const endpoints = this.#endpoints(record.id);
      if (endpoints.length) {
        const list = endpoints.map((e) => `name:${JSON.stringify(e.name)} id:${JSON.stringify(e.endpointId.slice(0, 12))}`).join(', ');
        throw new Fault('permission-denied', `error while removing network: network ${record.name} has active endpoints (${list})`);
      }
      await this.#unmake(record).catch((err) => {
        // Shown again so `network rm` can be retried: every step of the removal repeats harmlessly.
        this.#deps.records.save(record);
        this.#byId.set(record.id, record);
        throw err;
      });
    });
  }

  /** Removes every unused user network `matches` accepts; answers their names (moby localNetworksPrune). */
  prune(matches: (record: NetworkRecord) => boolean): Promise<string[]> {
    return this.#serially(async () => {
      const deleted: string[] = [];
      for (const record of this.list()) {
        if (isPredefinedName(record.name) || !matches(record) || this.#endpoints(record.id).length) continue;
        try {
          await this.#unmake(record);
          deleted.push(record.name);
        } catch (err) {
          this.#deps.logger.warn({ err, network: record.name }, 'could not remove local network');
        }
      }
      this.#deps.events.emit('network', 'prune', { id: '', attributes: { reclaimed: '0' } });
      return deleted;
    });
  }

  async connect(container: string, idOrName: string, endpointConfig: EndpointConfig): Promise<void> {
    return this.#connector.connect(container, this.find(idOrName), endpointConfig);
  }

  async disconnect(container: string, idOrName: string, force: boolean): Promise<void> {
    return this.#connector.disconnect(container, this.find(idOrName), force);
  }

  /** The user's subnet (checked against the other networks and the host's links), or the first free one of the pools. */
  async #poolFor(spec: NetworkCreateSpec): Promise<NetworkPool> {
    const existing = this.#allSubnets();
    if (spec.pool) {
      checkNoOverlap(spec.pool.subnet, [...existing, ...(await this.#foreignLinks())]);
      const gateway = spec.pool.gateway ?? defaultGateway({ subnet: spec.pool.subnet, ipRange: spec.pool.ipRange });
      return { subnet: spec.pool.subnet, gateway, ...(spec.pool.ipRange ? { ipRange: spec.pool.ipRange } : {}) };
    }
    return pickSubnet(this.#deps.config.addressPools, [...existing, ...(await this.#deps.hostRoutes()).map((r) => r.subnet)]);
  }

  /** moby bridge: two networks on one device conflict; a device that is not ours is refused (host safety). */
  #checkDevice(id: string, device: string): void {
    const other = [...this.#byId.values()].find((r) => r.bridge?.device === device);
    if (other) {
      throw new Fault(
        'permission-denied',
        `cannot create network ${id} (${device}): conflicts with network ${other.id} (${device}): networks have same bridge name`,
      );
    }
    if ((this.#deps.deviceExists ?? deviceExists)(device)) {
      throw new Fault('permission-denied', `cannot create network ${id} (${device}): the host already has a device named ${device}`);
    }
  }

  /** Pending record, pool, bridge, DNS, then the record made visible; a failure undoes what was done. */
  async #make(record: NetworkRecord): Promise<void> {
    const { records, events } = this.#deps;
    records.save({ ...record, pending: true });
    this.#byId.set(record.id, { ...record, pending: true });
    try {
      await this.#bringUp(record);
    } catch (err) {
      await this.#unmake(record).catch((undoErr) => this.#deps.logger.warn({ err: undoErr, network: record.name }, 'undoing a failed network create failed'));
      throw err;
    }
    records.save(record);
    this.#byId.set(record.id, record);
    if (!isPredefinedName(record.name)) events.emit('network', 'create', { id: record.id, attributes: { name: record.name, type: record.driver } });
  }

  /**
   * The host side of a bridge network: the driver and DNS steps are idempotent and the pool lives in memory, so
   * a restart replays it.
   */
  async #bringUp(record: NetworkRecord): Promise<void> {
    const network = driverNetworkOf(record);
    if (!network) return;
    await this.#deps.ipam.addPool(record.id, record.pools[0]);
    await this.#deps.driver.createNetwork(network);
    if (attachmentOf(record).dns) await this.#deps.dns.addNetwork(record.id, network.gateway, { name: record.name, subnet: network.subnet });
  }

  /**
   * At start, what must go (a half-made network, the default bridge's old device): when its host side cannot be
   * undone, the record is dropped anyway and the rest logged, so one leftover never keeps the engine from starting.
   */
  async #discard(record: NetworkRecord): Promise<void> {
    try {
      await this.#unmake(record);
    } catch (err) {
      this.#deps.logger.error({ err, network: record.name, bridge: record.bridge?.device }, 'could not remove what a network left; dropping its record');
      this.#deps.records.delete(record.id);
      this.#byId.delete(record.id);
    }
  }

  /**
   * Subnets on the link of a host device that is not one of this engine's bridges (docker0's, the LAN's, another
   * engine's): a network there would shadow them. Routes through a gateway are only avoided when picking.
   */
  async #foreignLinks(): Promise<string[]> {
    const own = new Set([...this.#byId.values()].flatMap((r) => (r.bridge ? [r.bridge.device] : [])));
    return (await this.#deps.hostRoutes()).filter((r) => r.onLink && !own.has(r.device)).map((r) => r.subnet);
  }

  /** Marks the record pending (invisible), undoes the host side in reverse, then drops the record. */
  async #unmake(record: NetworkRecord): Promise<void> {
    const { records, events, dns, driver, ipam } = this.#deps;
    const wasVisible = !this.#byId.get(record.id)?.pending;
    records.save({ ...record, pending: true });
    this.#byId.set(record.id, { ...record, pending: true });
    const network = driverNetworkOf(record);
    if (network) {
      if (attachmentOf(record).dns) await dns.removeNetwork(record.id);
      await driver.deleteNetwork(network);
      await ipam.removePool(record.id);
    }
    records.delete(record.id);
    this.#byId.delete(record.id);
    if (wasVisible && !isPredefinedName(record.name)) {
      events.emit('network', 'destroy', { id: record.id, attributes: { name: record.name, type: record.driver } });
    }
  }

  #isConfiguredBridge(record: NetworkRecord): boolean {
    const { bridge: device, defaultSubnet } = this.#deps.config;
    return record.bridge?.device === device && (!defaultSubnet || record.pools[0]?.subnet === defaultSubnet);
  }

  /** moby's default bridge: the configured device, the configured subnet or the first free one, moby's options. */
  async #defaultBridgeRecord(previous: NetworkRecord | undefined): Promise<NetworkRecord> {
    const { bridge: device, defaultSubnet, addressPools } = this.#deps.config;
    const others = this.#allSubnets();
    let pool: NetworkPool;
    if (defaultSubnet) {
      validateSubnetRequest({ subnet: defaultSubnet });
      checkUsableSubnet(defaultSubnet);
      checkNoOverlap(defaultSubnet, [...others, ...(await this.#foreignLinks())]);
      pool = { subnet: defaultSubnet, gateway: defaultGateway({ subnet: defaultSubnet }) };
    } else pool = pickSubnet(addressPools, [...others, ...(await this.#deps.hostRoutes()).map((r) => r.subnet)]);
    const options = {
      [bridgeOption.defaultBridge]: 'true',
      [bridgeOption.icc]: 'true',
      [bridgeOption.masquerade]: 'true',
      [bridgeOption.hostBinding]: '0.0.0.0',
      [bridgeOption.name]: device,
      [bridgeOption.mtu]: '1500',
    };
    const bridge = { device, masquerade: true, mtu: 1500 };
    return this.#newRecord({ id: previous?.id, created: previous?.created, name: 'bridge', driver: 'bridge', pools: [pool], options, bridge });
  }

  #newRecord(fields: Partial<NetworkRecord> & Pick<NetworkRecord, 'name' | 'driver' | 'pools' | 'options'>): NetworkRecord {
    return {
      id: fields.id ?? this.#newId(),
      created: fields.created ?? new Date(this.#deps.now?.() ?? Date.now()).toISOString(),
      internal: false,
      attachable: false,
      ipamOptions: null,
      labels: {},
      ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
    } as NetworkRecord;
  }

  #newId(): string {
    return this.#deps.newId?.() ?? randomBytes(32).toString('hex');
  }

  #byName(name: string): NetworkRecord | undefined {
    return [...this.#byId.values()].find((r) => r.name === name);
  }

  /** Subnets of every network, pending ones too (their pool may still be held). */
  #allSubnets(): string[] {
    return [...this.#byId.values()].flatMap((r) => r.pools.map((p) => p.subnet));
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#serial.catch(() => undefined).then(work);
    this.#serial = next;
    return next;
  }
}

/** What the driver makes for a record; undefined for host and none. */
export function driverNetworkOf(record: NetworkRecord): DriverNetwork | undefined {
  const pool = record.pools[0];
  if (record.driver !== 'bridge' || !record.bridge || !pool) return undefined;
  const { device, masquerade, mtu } = record.bridge;
  return { id: record.id, bridge: device, subnet: pool.subnet, gateway: pool.gateway, internal: record.internal, masquerade, mtu };
}

function attachmentOf(record: NetworkRecord): NetworkAttachment {
  const isDefaultBridge = record.name === 'bridge';
  const driver = driverNetworkOf(record);
  const dns = !!driver && !isDefaultBridge;
  return { id: record.id, name: record.name, driverName: record.driver, ...(driver ? { driver } : {}), dns, isDefaultBridge, record };
}

function deviceExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}
