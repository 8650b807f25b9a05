/*
 * What one network's embedded DNS knows of each attached container: its names (name, aliases) and short ID,
 * mapped to its address on that network, and what applies to the queries it sends from that address: its link
 * aliases and its own upstream resolvers. moby's Network.ResolveName lower-cases the name and drops a trailing
 * dot; Sandbox.ResolveName also accepts `name.<network name>` and tries the asking endpoint's link aliases first.
 */

export interface DnsClientSettings {
  /** The container's own resolvers (`--dns`): its queries not answered locally go there, not to the host's. */
  upstreams?: string[];
  /** Link aliases (`--link db:database`): alias -> a container name or ID on this network, for this container only. */
  aliases?: Record<string, string>;
}

interface Entry {
  names: string[];
  address: string;
  /** Normalized alias -> normalized target, resolved at query time so it follows the target's restarts. */
  aliases: Map<string, string>;
  /** undefined: the host's resolvers. */
  upstreams: string[] | undefined;
}

export function normalizeName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

export class DnsNameTable {
  readonly #networkName: string | undefined;
  readonly #entries = new Map<string, Entry>();

  /** `networkName` (normalized) lets `container.network` resolve too. */
  constructor(networkName?: string) {
    this.#networkName = networkName === undefined || networkName === '' ? undefined : normalizeName(networkName);
  }

  /**
   * Replaces what `containerId` answers for and what applies to its queries. `names[0]` is the container's name,
   * given back by reverse lookups; the 12-character short ID is always added, as moby adds it to every
   * user-network endpoint's aliases. An empty `upstreams` means the host's resolvers, as an empty HostConfig.Dns.
   */
  set(containerId: string, names: string[], address: string, settings: DnsClientSettings = {}): void {
    const all = [...names, containerId.slice(0, 12)].map(normalizeName).filter((n) => n !== '');
    // moby keeps container names with a leading slash; a link target given that way names the same container.
    const aliases = Object.entries(settings.aliases ?? {}).map(([alias, target]) => [normalizeName(alias), normalizeName(target.replace(/^\//, ''))] as const);
    const upstreams = settings.upstreams !== undefined && settings.upstreams.length > 0 ? [...settings.upstreams] : undefined;
    this.#entries.set(containerId, { names: [...new Set(all)], address, aliases: new Map(aliases), upstreams });
  }

  delete(containerId: string): void {
    this.#entries.delete(containerId);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Every address answering `name` (without duplicates) for a query from `from`, or undefined when the name is
   * not on this network. As moby's Sandbox.ResolveName: for `name`, then for `name` less `.<network>`, the
   * asker's link alias first, then the containers' names.
   */
  lookup(name: string, from?: string): string[] | undefined {
    const wanted = normalizeName(name);
    const aliases = from === undefined ? undefined : this.#entryAt(from)?.aliases;
    for (const candidate of this.#candidates(wanted)) {
      const target = aliases?.get(candidate);
      const linked = target === undefined ? [] : this.#addresses((id, entry) => id === target || entry.names.includes(target));
      if (linked.length > 0) return linked;
      const named = this.#addresses((_, entry) => entry.names.includes(candidate));
      if (named.length > 0) return named;
    }
    return undefined;
  }

  /** The resolvers a query from `address` is forwarded to; undefined: the host's. */
  upstreamsFor(address: string): string[] | undefined {
    return this.#entryAt(address)?.upstreams;
  }

  #candidates(wanted: string): string[] {
    const suffix = `.${this.#networkName}`;
    if (this.#networkName === undefined || !wanted.endsWith(suffix)) return [wanted];
    return [wanted, wanted.slice(0, -suffix.length)];
  }

  #addresses(matches: (containerId: string, entry: Entry) => boolean): string[] {
    const addresses = new Set<string>();
    for (const [id, entry] of this.#entries) if (matches(id, entry)) addresses.add(entry.address);
    return [...addresses];
  }

  #entryAt(address: string): Entry | undefined {
    for (const entry of this.#entries.values()) if (entry.address === address) return entry;
    return undefined;
  }

  /** The name a PTR query for `address` answers: moby's `<container name>.<network name>`. */
  reverse(address: string): string | undefined {
    const entry = this.#entryAt(address);
    if (entry === undefined) return undefined;
    return this.#networkName === undefined ? entry.names[0] : `${entry.names[0]}.${this.#networkName}`;
  }
}
