import { createHash } from 'node:crypto';
import type { ContainerRecord, EndpointSettings } from '../containers/container-record.ts';
import { networkNameOf, newEndpoint } from '../containers/container-endpoints.ts';
import { portMapOf } from '../containers/container-ports.ts';

/** An endpoint as inspect shows it: the engine's own bookkeeping fields are left out. */
export function endpointJson(settings: EndpointSettings): Record<string, unknown> {
  const { DesiredMacAddress: _desired, LastIPAddress: _last, InterfaceName: _ifname, ...shown } = settings;
  return shown;
}

/** NetworkSettings.Networks, in the order the container joined them. */
export function networksJson(record: ContainerRecord): Record<string, unknown> {
  // Records from before networks were all on the default bridge.
  if (!record.networks) return record.hostConfig.NetworkMode.startsWith('container:') ? {} : { [networkNameOf(record.hostConfig.NetworkMode)]: endpointJson(newEndpoint('', {}, '')) };
  return Object.fromEntries(Object.entries(record.networks).map(([name, s]) => [name, endpointJson(s)]));
}

/** `GET /containers/{id}/json` NetworkSettings: the default bridge's endpoint is repeated at the top, as moby does. */
export function networkSettingsJson(record: ContainerRecord): Record<string, unknown> {
  const bridge = record.networks?.bridge;
  return {
    Bridge: '',
    SandboxID: record.sandboxKey ? createHash('sha256').update(`sandbox/${record.id}`).digest('hex') : '',
    SandboxKey: record.sandboxKey ?? '',
    Ports: portMapOf(record),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: networksJson(record),
  };
}
