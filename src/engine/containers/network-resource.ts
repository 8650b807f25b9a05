import { randomBytes } from 'node:crypto';
import { Fault, isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { DriverEndpoint } from '../networks/network-driver.ts';
import { hostIfname, macFromAddress, netnsName, type AttachableNetwork, type ContainerNetworking } from './container-networking.ts';
import type { ContainerRecord, EndpointSettings } from './container-record.ts';
import type { ContainerResource } from './container-resources.ts';
import { parseLink } from './container-links.ts';
import { portRequestsOf } from './container-ports.ts';

/**
 * A container's place on its networks while it runs (moby daemon/container_operations.go allocateNetwork /
 * releaseNetwork): a network namespace of its own, then on each network an address, a veth and its names in the
 * embedded DNS, and the published ports on the first one. Addresses are kept in the record after the run so the
 * next start asks for the same ones.
 */
export function networkResource(net: ContainerNetworking, logger: Logger): ContainerResource {
  return {
    name: 'networks',
    acquire: async (record) => {
      if (!ownsNamespace(record)) return;
      // Not saved here: setRunning saves the record once the process runs, and after a crash before that,
      // `recover` finds the namespace by the container's ID.
      record.sandboxKey = await net.createNetns(netnsName(record.id));
      for (const [index, name] of Object.keys(record.networks ?? {}).entries()) await attachEndpoint(net, record, name, index);
    },
    release: async (record) => {
      try {
        await releaseNetworking(net, record);
      } catch (err) {
        logger.warn({ err, id: record.id }, 'releasing the network failed');
      }
    },
    recover: (record) => releaseNetworking(net, record),
    leftBehind: (record) => ownsNamespace(record) && net.netnsExists(netnsName(record.id)),
  };
}

/** bridge and user networks get a namespace of the engine's; host, none and `container:` do not. */
function ownsNamespace(record: ContainerRecord): boolean {
  const mode = record.hostConfig.NetworkMode;
  return mode !== 'host' && mode !== 'none' && !mode.startsWith('container:') && Object.keys(record.networks ?? {}).length > 0;
}

/** Plugs the running container into network `name` as its `index`th interface (eth<index>). */
export async function attachEndpoint(net: ContainerNetworking, record: ContainerRecord, name: string, index: number): Promise<void> {
  const settings = record.networks![name];
  const network = net.network(settings.NetworkID || name);
  if (!network.driver) throw new Fault('invalid-argument', `network ${name} has no bridge to attach to`);
  const address = net.allocateAddress(network.id, { requested: settings.IPAMConfig?.IPv4Address || undefined, preferred: settings.LastIPAddress || undefined });
  settings.IPAddress = address;
  const first = index === 0;
  const endpointId = randomBytes(32).toString('hex');
  const ports = first && !network.driver.internal ? await reservePorts(net, record, address, endpointId) : [];
  if (first) record.ports = ports;
  settings.InterfaceName = freeInterfaceName(record);
  const endpoint = driverEndpoint(record, network, settings, index);
  endpoint.ports = ports;
  await net.driver.attach(endpoint);
  Object.assign(settings, {
    NetworkID: network.id,
    EndpointID: endpointId,
    Gateway: network.driver.gateway,
    IPPrefixLen: endpoint.prefixLength,
    MacAddress: endpoint.mac,
    DNSNames: network.dns ? dnsNames(record, settings) : null,
  });
  if (network.dns) net.registerNames(network.id, record.id, dnsNames(record, settings), address, resolverSettings(record, settings));
  net.emitNetworkEvent('connect', network, record.id);
}

/** moby's words for a host port that cannot be had: the endpoint is named before the allocator's reason. */
async function reservePorts(net: ContainerNetworking, record: ContainerRecord, address: string, endpointId: string) {
  try {
    return await net.reservePorts(record.id, portRequestsOf(record), address);
  } catch (err) {
    if (!isFault(err)) throw err;
    throw new Fault(err.kind, `driver failed programming external connectivity on endpoint ${record.name.slice(1)} (${endpointId}): ${err.message}`, { cause: err });
  }
}

/** Undoes `attachEndpoint` for network `name`; what is already gone is skipped. */
export async function detachEndpoint(net: ContainerNetworking, record: ContainerRecord, name: string, index: number): Promise<void> {
  const settings = record.networks?.[name];
  if (!settings?.IPAddress) return;
  let network: AttachableNetwork | undefined;
  try {
    network = net.network(settings.NetworkID || name);
  } catch {
    network = undefined;
  }
  if (network?.driver) {
    if (network.dns) net.unregisterNames(network.id, record.id);
    await net.driver.detach({ ...driverEndpoint(record, network, settings, index), ports: index === 0 ? (record.ports ?? []) : [] });
    // The published ports live on the first endpoint: they go with it, also on a live disconnect.
    if (index === 0) {
      await net.releasePorts(record.id);
      record.ports = undefined;
    }
    net.releaseAddress(network.id, settings.IPAddress);
    net.emitNetworkEvent('disconnect', network, record.id);
  }
  // The address stays in the record: the next start prefers it (moby keeps it for user networks too).
  Object.assign(settings, { EndpointID: '', Gateway: '', IPPrefixLen: 0, MacAddress: settings.DesiredMacAddress ?? '', DNSNames: null, InterfaceName: undefined });
  settings.LastIPAddress = settings.IPAddress;
  settings.IPAddress = '';
}

/** Everything a run held on the networks: endpoints (in reverse), ports, the namespace. Idempotent. */
async function releaseNetworking(net: ContainerNetworking, record: ContainerRecord): Promise<void> {
  const names = Object.keys(record.networks ?? {});
  for (let index = names.length - 1; index >= 0; index--) await detachEndpoint(net, record, names[index], index);
  await net.releasePorts(record.id);
  record.ports = undefined;
  if (ownsNamespace(record)) await net.deleteNetns(netnsName(record.id));
  record.sandboxKey = undefined;
}

/** eth<N> with the lowest N no attached endpoint of the container uses. */
function freeInterfaceName(record: ContainerRecord): string {
  const used = new Set(Object.values(record.networks ?? {}).map((s) => s.InterfaceName));
  let n = 0;
  while (used.has(`eth${n}`)) n++;
  return `eth${n}`;
}

function driverEndpoint(record: ContainerRecord, network: AttachableNetwork, settings: EndpointSettings, index: number): DriverEndpoint {
  const driver = network.driver!;
  return {
    containerId: record.id,
    netnsPath: record.sandboxKey ?? '',
    network: driver,
    ifname: settings.InterfaceName ?? `eth${index}`,
    hostIfname: hostIfname(record.id, network.id),
    address: settings.IPAddress,
    prefixLength: Number(driver.subnet.split('/')[1]),
    mac: settings.DesiredMacAddress || macFromAddress(settings.IPAddress),
    defaultRoute: index === 0,
    ports: [],
  };
}

/**
 * What the embedded DNS does for this container alone (moby's per-sandbox resolver): its `--dns` servers, and on
 * a user network its links (`--link db:database`, or the endpoint's Links) as aliases only it resolves.
 */
function resolverSettings(record: ContainerRecord, settings: EndpointSettings): { upstreams?: string[]; aliases?: Record<string, string> } {
  const links = [...((record.hostConfig.Links as string[] | null | undefined) ?? []), ...(settings.Links ?? [])];
  const aliases = Object.fromEntries(links.map(parseLink).map(({ name, alias }) => [alias, name]));
  const upstreams = (record.hostConfig.Dns as string[] | null | undefined) ?? [];
  return { ...(upstreams.length ? { upstreams } : {}), ...(links.length ? { aliases } : {}) };
}

/** moby's DNSNames: the container's name, its aliases on this network, its short ID. */
function dnsNames(record: ContainerRecord, settings: EndpointSettings): string[] {
  return [...new Set([record.name.slice(1), ...(settings.Aliases ?? []), record.id.slice(0, 12)])];
}
