import { Fault, isFault } from '../../base/fault.ts';
import type { EndpointConfig } from '../networks/network-service.ts';
import { containsAddress, parseCidr, parseIpv4 } from '../networks/cidr.ts';
import { macPattern } from '../networks/driver-checks.ts';
import type { AttachableNetwork, ContainerNetworking } from './container-networking.ts';
import type { EndpointSettings, HostConfig } from './container-record.ts';

/** The create body's fields this module reads. */
interface CreateFields {
  Hostname?: string;
  MacAddress?: string;
  ExposedPorts?: Record<string, object> | null;
  NetworkingConfig?: NetworkingRequest | null;
}

/** What the create body's NetworkingConfig.EndpointsConfig and `network connect` may ask of one network. */
export type EndpointRequest = EndpointConfig;

export interface NetworkingRequest {
  EndpointsConfig?: Record<string, EndpointRequest | null> | null;
}


/** The network a mode names: `default` is the default bridge (moby on linux). */
export function networkNameOf(mode: string): string {
  return !mode || mode === 'default' ? 'bridge' : mode;
}

/**
 * moby daemon/create.go + container_operations.go: the networks a new container joins, checked against the
 * networks that exist (an unknown one is refused here, so no container is left behind by `run`). host, none and
 * `container:` modes join none of the engine's; their conflicting options are refused with moby's texts.
 */
export function endpointsAtCreate(
  net: ContainerNetworking,
  request: CreateFields,
  host: HostConfig,
): Record<string, EndpointSettings> | undefined {
  const mode = networkNameOf(host.NetworkMode);
  // The CLI names the default network `default` in EndpointsConfig too.
  const requests = Object.fromEntries(Object.entries(request.NetworkingConfig?.EndpointsConfig ?? {}).map(([name, r]) => [networkNameOf(name), r]));
  if (mode.startsWith('container:')) {
    checkContainerModeConflicts(request, host);
    return undefined;
  }
  if (mode === 'host' || mode === 'none') {
    if (Object.keys(requests).some((n) => n !== mode)) throw new Fault('invalid-argument', `conflicting options: cannot attach both user-defined and non-user-defined network-modes`);
    // Shown by inspect as moby does; the container gets no endpoint of the engine's.
    return { [mode]: newEndpoint(net.network(mode).id, {}, '') };
  }
  const primary = existingNetwork(net, mode);
  const endpoints: Record<string, EndpointSettings> = {};
  const names = [primary.name, ...Object.keys(requests).filter((n) => n !== mode && existingNetwork(net, n).name !== primary.name)];
  for (const name of names) {
    const network = existingNetwork(net, name);
    const asked = requests[name === primary.name ? (name in requests ? name : mode) : name] ?? {};
    const mac = asked.MacAddress || (name === primary.name ? request.MacAddress : '') || '';
    checkEndpoint(network, asked, mac);
    endpoints[network.name] = newEndpoint(network.id, asked, mac);
  }
  return endpoints;
}

/**
 * moby's text, but a 400 rather than its 404: the CLI answers a 404 from create by pulling the image, which hides
 * the cause behind a registry error (the same choice as for an unknown volume driver).
 */
function existingNetwork(net: ContainerNetworking, name: string) {
  try {
    return net.network(name);
  } catch (err) {
    if (isFault(err, 'not-found')) throw new Fault('invalid-argument', err.message, { cause: err });
    throw err;
  }
}

/** The settings a container keeps for a network it joined but has no address on yet. */
export function newEndpoint(networkId: string, request: EndpointRequest, mac: string): EndpointSettings {
  const ipv4 = request.IPAMConfig?.IPv4Address;
  return {
    IPAMConfig: ipv4 ? { IPv4Address: ipv4 } : null,
    Links: request.Links?.length ? [...request.Links] : null,
    Aliases: request.Aliases?.length ? [...request.Aliases] : null,
    MacAddress: mac,
    DriverOpts: request.DriverOpts ?? null,
    NetworkID: networkId,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
    ...(mac ? { DesiredMacAddress: mac } : {}),
  };
}

/** moby daemon/network.go validateEndpointSettings and runconfig's checks, with their texts. */
export function checkEndpoint(network: AttachableNetwork, request: EndpointRequest, mac: string): void {
  const ipam = request.IPAMConfig;
  if (ipam?.IPv6Address) throw new Fault('invalid-argument', `IPv6 is not supported by this engine: --ip6 ${ipam.IPv6Address} on network ${network.name}`);
  if (ipam?.LinkLocalIPs?.length) throw new Fault('invalid-argument', `--link-local-ip is not supported by this engine (network ${network.name})`);
  if (ipam?.IPv4Address) checkRequestedAddress(network, ipam.IPv4Address);
  if (request.Aliases?.length && network.isDefaultBridge) throw new Fault('invalid-argument', 'network-scoped alias is supported only for containers in user defined networks');
  if (mac && !macPattern.test(mac)) throw new Fault('invalid-argument', `invalid MAC address: ${mac}`);
  if (request.DriverOpts && Object.keys(request.DriverOpts).length) {
    throw new Fault('invalid-argument', `endpoint driver options are not supported by this engine: ${Object.keys(request.DriverOpts).join(', ')}`);
  }
}

/** `--ip`: on a user network, inside its subnet (moby 28 checks it at create). */
function checkRequestedAddress(network: AttachableNetwork, address: string): void {
  if (network.isDefaultBridge) throw new Fault('invalid-argument', 'user specified IP address is supported on user defined networks only');
  const ip = parseIpv4(address);
  if (ip === undefined) throw new Fault('invalid-argument', `invalid IPv4 address: ${address}`);
  const subnet = network.driver ? parseCidr(network.driver.subnet) : undefined;
  if (subnet && !containsAddress(subnet, ip)) {
    throw new Fault('invalid-argument', `no configured subnet or ip-range contain the IP address ${address}`);
  }
}

/** moby runconfig/hostconfig_unix.go validateNetMode: what a container sharing another's namespace cannot set. */
function checkContainerModeConflicts(request: CreateFields, host: HostConfig): void {
  const strings = (key: string) => (host[key] as string[] | null | undefined) ?? [];
  if (request.Hostname) throw new Fault('invalid-argument', 'conflicting options: hostname and the network mode');
  if (strings('Links').length) throw new Fault('invalid-argument', 'conflicting options: container type network can\'t be used with links. This would result in undefined behavior');
  if (strings('Dns').length) throw new Fault('invalid-argument', 'conflicting options: dns and the network mode');
  if (strings('ExtraHosts').length) throw new Fault('invalid-argument', 'conflicting options: custom host-to-IP mapping and the network mode');
  if (request.MacAddress) throw new Fault('invalid-argument', 'conflicting options: mac-address and the network mode');
  if (Object.keys(request.ExposedPorts ?? {}).length) throw new Fault('invalid-argument', 'conflicting options: port exposing and the container type network mode');
  if (host.PublishAllPorts || Object.keys((host.PortBindings as object | null) ?? {}).length) {
    throw new Fault('invalid-argument', 'conflicting options: port publishing and the container type network mode');
  }
}
