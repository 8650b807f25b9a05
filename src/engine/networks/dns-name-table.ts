/*
 * The names one network's embedded DNS answers for: each attached container's names (name, aliases) and its
 * short ID, mapped to its address on that network. moby's Network.ResolveName lower-cases the name and drops
 * a trailing dot; Sandbox.ResolveName also accepts `name.<network name>`.
 */

interface Entry {
  names: string[];
  address: string;
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
   * Replaces what `containerId` answers for. `names[0]` is the container's name, given back by reverse lookups;
   * the 12-character short ID is always added, as moby adds it to every user-network endpoint's aliases.
   */
  set(containerId: string, names: string[], address: string): void {
    const all = [...names, containerId.slice(0, 12)].map(normalizeName).filter((n) => n !== '');
    this.#entries.set(containerId, { names: [...new Set(all)], address });
  }

  delete(containerId: string): void {
    this.#entries.delete(containerId);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Every address answering `name` (without duplicates), or undefined when the name is not on this network. */
  lookup(name: string): string[] | undefined {
    const wanted = normalizeName(name);
    const found = this.#addresses(wanted);
    if (found.length > 0 || this.#networkName === undefined) return found.length > 0 ? found : undefined;
    const suffix = `.${this.#networkName}`;
    if (!wanted.endsWith(suffix)) return undefined;
    const bare = this.#addresses(wanted.slice(0, -suffix.length));
    return bare.length > 0 ? bare : undefined;
  }

  #addresses(name: string): string[] {
    const addresses = new Set<string>();
    for (const entry of this.#entries.values()) if (entry.names.includes(name)) addresses.add(entry.address);
    return [...addresses];
  }

  /** The name a PTR query for `address` answers: moby's `<container name>.<network name>`. */
  reverse(address: string): string | undefined {
    for (const entry of this.#entries.values()) {
      if (entry.address !== address) continue;
      return this.#networkName === undefined ? entry.names[0] : `${entry.names[0]}.${this.#networkName}`;
    }
    return undefined;
  }
}
