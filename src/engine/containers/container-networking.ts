import { createHash } from 'node:crypto';
import type { NetworkDriver, PortMapping } from '../networks/network-driver.ts';
import type { NetworkAttachment } from '../networks/network-service.ts';
import type { PortRequest } from '../networks/port-bindings.ts';

/** A network as the container layer sees it (the service's attachment, without its record). */
export type AttachableNetwork = Omit<NetworkAttachment, 'record'>;

/**
 * What the container layer needs from the network side, as one seam: engine.ts builds it from the network
 * service, the driver, IPAM, the port allocator and the embedded DNS, so the container verbs name none of them.
 */
export interface ContainerNetworking {
  /** By ID, name or unique ID prefix; Fault not-found `network X not found`. */
  network(idOrName: string): AttachableNetwork;
  /** The default bridge network. */
  defaultBridge(): AttachableNetwork;
  readonly driver: NetworkDriver;
  allocateAddress(networkId: string, options: { requested?: string; preferred?: string }): string;
  releaseAddress(networkId: string, address: string): void;
  /** `containerIp` is only for the error text, which names the whole mapping as moby does. */
  reservePorts(owner: string, requests: PortRequest[], containerIp: string): Promise<PortMapping[]>;
  releasePorts(owner: string): Promise<void>;
  /**
   * `upstreams`: the container's `--dns` servers, asked instead of the host's for its queries; `aliases`: its
   * links on this network (alias -> linked container), resolved for it alone.
   */
  registerNames(networkId: string, containerId: string, names: readonly string[], address: string, settings: { upstreams?: string[]; aliases?: Record<string, string> }): void;
  unregisterNames(networkId: string, containerId: string): void;
  createNetns(name: string): Promise<string>;
  deleteNetns(name: string): Promise<void>;
  netnsExists(name: string): boolean;
  emitNetworkEvent(action: 'connect' | 'disconnect', network: AttachableNetwork, containerId: string): void;
}

/** The container's network namespace name (`ip netns` shows it): `wharf-<id12>`. */
export function netnsName(containerId: string): string {
  return `wharf-${containerId.slice(0, 12)}`;
}

/** The host side of a container's veth on one network: stable, so a restarted engine can find it. */
export function hostIfname(containerId: string, networkId: string): string {
  return `vw${createHash('sha256').update(`${containerId}/${networkId}`).digest('hex').slice(0, 12)}`;
}

/** moby's MAC from an IPv4 address (libnetwork netutils.GenerateMACFromIP): 02:42 then the four bytes. */
export function macFromAddress(address: string): string {
  return ['02', '42', ...address.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}
