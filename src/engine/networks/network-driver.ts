/*
 * The network seam (moby libnetwork's driver API, cut down to what a bridge needs). The network service above it
 * keeps the records (names, labels, IPAM) and decides when a network or an endpoint exists; a driver only makes
 * and removes the host's side of them: devices, addresses, routes and firewall rules.
 *
 * Every method is idempotent: creating what exists or removing what is gone is not an error, because after a
 * kill -9 the engine replays its records against whatever the host still has.
 */

/** One bridge network as the driver needs it. Addresses are IPv4 dotted quads; `subnet` is a CIDR. */
export interface DriverNetwork {
  /** The network's ID (64 hex). */
  id: string;
  /** The host's bridge device (at most 15 bytes): `wharf0` for the default network, `br-<id12>` for others. */
  bridge: string;
  subnet: string;
  gateway: string;
  /** `--internal`: no route out, no NAT, no published ports; containers reach only each other. */
  internal: boolean;
  /** `com.docker.network.bridge.enable_ip_masquerade` (default true): outbound NAT for the subnet. */
  masquerade: boolean;
  /** `com.docker.network.driver.mtu`; 0 = the kernel's default. */
  mtu: number;
}

/** A published port after allocation: `hostIp` '' means every IPv4 address of the host. */
export interface PortMapping {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** One container's attachment to one network. */
export interface DriverEndpoint {
  /** Container ID (64 hex). */
  containerId: string;
  /** The container's network namespace (a bind-mounted nsfs file, see netns.ts). */
  netnsPath: string;
  network: DriverNetwork;
  /** The interface inside the container: eth0, eth1, … in the order the container joined. */
  ifname: string;
  /** The host side of the veth pair; derived from container and network IDs so a restart can find it. */
  hostIfname: string;
  address: string;
  prefixLength: number;
  /** 02:42:… as moby derives it from the address, or the user's `--mac-address`. */
  mac: string;
  /** The endpoint that carries the default route (the first network a container joins). */
  defaultRoute: boolean;
  /** Host ports forwarded to this endpoint's address (only on the default-route endpoint). */
  ports: PortMapping[];
}

export interface NetworkDriver {
  /** The name `docker network ls` shows in its DRIVER column. */
  readonly name: string;
  /**
   * Once at engine start, before anything else: makes the engine's own firewall chains and their jumps from the
   * built-in chains exist, and drops every per-endpoint rule a previous run of this engine left (its containers
   * died with it). Never touches chains or devices that are not this engine's.
   */
  init(): Promise<void>;
  /** Makes the bridge (address, up) and the network's rules exist. */
  createNetwork(network: DriverNetwork): Promise<void>;
  /** Removes the network's rules, and its bridge when this engine made it (a device it did not make stays). */
  deleteNetwork(network: DriverNetwork): Promise<void>;
  /** Plugs the container into the network: veth pair, address, MAC, routes, port forwards. */
  attach(endpoint: DriverEndpoint): Promise<void>;
  /** Undoes `attach`; what is already gone is skipped. Must not throw for a missing veth or netns. */
  detach(endpoint: DriverEndpoint): Promise<void>;
  /** Removes everything this engine made on the host (chains, jumps); for tests and uninstall. */
  reset(): Promise<void>;
}
