/** One IPv4 pool of a network (moby's IPAMConfig): the subnet, its gateway, and the part containers get. */
export interface NetworkPool {
  subnet: string;
  gateway: string;
  /** `--ip-range`: containers get addresses from here only; absent = the whole subnet. */
  ipRange?: string;
}

/** A bridge network's host side, beside its pool: see DriverNetwork. */
export interface BridgeSettings {
  /** The host's bridge device (at most 15 bytes). */
  device: string;
  masquerade: boolean;
  /** 0 = the kernel's default. */
  mtu: number;
}

/** The drivers a network can have: moby's names, `null` being the `none` network's. */
export type NetworkDriverName = 'bridge' | 'host' | 'null';

/** What the engine keeps about a network (libnetwork's network object, cut down to one IPv4 pool). */
export interface NetworkRecord {
  /** 64 hex; the predefined networks keep theirs across restarts. */
  id: string;
  name: string;
  driver: NetworkDriverName;
  /** RFC 3339 with fraction, as moby's `Created`. */
  created: string;
  internal: boolean;
  attachable: boolean;
  /** What the bridge driver makes (bridge networks only). */
  bridge?: BridgeSettings;
  /** Empty for `host` and `none`. */
  pools: NetworkPool[];
  ipamOptions: Record<string, string> | null;
  /** The driver options as inspect shows them (for `bridge`, the full set moby shows; for others what was given). */
  options: Record<string, string>;
  labels: Record<string, string>;
  /**
   * A network being made or unmade: its host side may be half there, so it is invisible, and a restart removes
   * whatever of it exists (a crash between the steps leaves no half network visible).
   */
  pending?: boolean;
}

/**
 * moby's IsPredefined: the networks every engine has (bridge, host, none), plus `default`, the name of the
 * default network mode. They cannot be created, removed or pruned.
 */
export function isPredefinedName(name: string): boolean {
  return ['bridge', 'host', 'none', 'default'].includes(name);
}
