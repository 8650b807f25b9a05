/*
 * The firewall rules of the bridge driver as data (no I/O). Every rule lives in a chain of this engine's own,
 * `WHARF-<instance>-<X>`, reached by one jump from each built-in chain it needs; specs are written the way
 * `iptables -S` prints them so that a rule read back can be compared with the one that was written.
 *
 * filter FORWARD -> FORWARD: -> TO (every packet leaving by one of our bridges: accepted only from the same
 * bridge, as a reply, or as a published port; dropped otherwise) -> FROM (every other packet entering by one of
 * our bridges: accepted, or dropped for an internal network). Because TO decides everything bound for a bridge
 * before FROM accepts anything coming out of one, two networks are isolated whatever order they were made in.
 */
import type { DriverEndpoint, DriverNetwork } from './network-driver.ts';

export type Table = 'nat' | 'filter';

/** One rule: `-A <chain> <spec>` in `table`. */
export interface Rule {
  table: Table;
  chain: string;
  spec: string;
}

export interface BridgeChains {
  /** nat: published ports (DNAT), reached from PREROUTING and OUTPUT for local destinations. */
  dnat: string;
  /** nat: masquerading, reached from POSTROUTING. */
  post: string;
  /** filter: reached from FORWARD; runs `to` then `from`. */
  forward: string;
  to: string;
  from: string;
}

/** What every chain of the engine `instance` is named with, and no other engine's. */
export function chainPrefix(instance: string): string {
  return `WHARF-${instance}-`;
}

export function bridgeChains(instance: string): BridgeChains {
  const chain = (x: string) => `${chainPrefix(instance)}${x}`;
  return { dnat: chain('DNAT'), post: chain('POST'), forward: chain('FORWARD'), to: chain('TO'), from: chain('FROM') };
}

/** The chains as [table, name] pairs. */
export function chainTables(chains: BridgeChains): [Table, string][] {
  return [
    ['nat', chains.dnat],
    ['nat', chains.post],
    ['filter', chains.forward],
    ['filter', chains.to],
    ['filter', chains.from],
  ];
}

/** The jumps from the built-in chains; each is inserted at the top of its chain. */
export function jumpRules(chains: BridgeChains): Rule[] {
  const local = `-m addrtype --dst-type LOCAL -j ${chains.dnat}`;
  return [
    { table: 'nat', chain: 'PREROUTING', spec: local },
    { table: 'nat', chain: 'OUTPUT', spec: local },
    { table: 'nat', chain: 'POSTROUTING', spec: `-j ${chains.post}` },
    // At the top of FORWARD so a host's DROP policy (dockerd sets one) or its rules never see our traffic.
    { table: 'filter', chain: 'FORWARD', spec: `-j ${chains.forward}` },
  ];
}

/** The fixed content of the FORWARD chain. */
export function forwardRules(chains: BridgeChains): Rule[] {
  return [
    { table: 'filter', chain: chains.forward, spec: `-j ${chains.to}` },
    { table: 'filter', chain: chains.forward, spec: `-j ${chains.from}` },
  ];
}

/** A network's rules, in the order they must be appended. */
export function networkRules(chains: BridgeChains, network: DriverNetwork): Rule[] {
  const { bridge: br, subnet } = network;
  const nat = (spec: string): Rule => ({ table: 'nat', chain: chains.post, spec });
  const to = (spec: string): Rule => ({ table: 'filter', chain: chains.to, spec });
  const from = (spec: string): Rule => ({ table: 'filter', chain: chains.from, spec });
  if (network.internal) {
    return [to(`-i ${br} -o ${br} -j ACCEPT`), to(`-o ${br} -j DROP`), from(`-i ${br} -j DROP`)];
  }
  return [
    ...(network.masquerade ? [nat(`-s ${subnet} ! -o ${br} -j MASQUERADE`)] : []),
    // 127.0.0.1:<published port> reaches the bridge with a loopback source (route_localnet): give it the gateway's.
    nat(`-s 127.0.0.0/8 -o ${br} -j MASQUERADE`),
    // Hairpin: a container reaching a published port of its own network must get the reply through the host.
    nat(`-s ${subnet} -o ${br} -m conntrack --ctstate DNAT -j MASQUERADE`),
    to(`-i ${br} -o ${br} -j ACCEPT`),
    to(`-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`),
    to(`-o ${br} -m conntrack --ctstate DNAT -j ACCEPT`),
    to(`-o ${br} -j DROP`),
    from(`-i ${br} -j ACCEPT`),
  ];
}

/** True when an `iptables -S` line is a rule of `bridge`'s network (it names the bridge as in or out device). */
export function isNetworkRule(line: string, bridge: string): boolean {
  const words = line.split(' ');
  return words.some((word, i) => (word === '-i' || word === '-o') && words[i + 1] === bridge);
}

/**
 * An endpoint's published ports. The jumps already require a local destination, so hostIp '' needs no `-d`.
 * Internal networks publish nothing (moby skips their port bindings as well).
 */
export function portRules(chains: BridgeChains, endpoint: DriverEndpoint): Rule[] {
  if (endpoint.network.internal) return [];
  return endpoint.ports.map((port) => ({
    table: 'nat',
    chain: chains.dnat,
    spec: [
      ...(port.hostIp ? ['-d', `${port.hostIp}/32`] : []),
      `-p ${port.protocol} -m ${port.protocol} --dport ${port.hostPort}`,
      `-j DNAT --to-destination ${endpoint.address}:${port.containerPort}`,
    ].join(' '),
  }));
}

/** The rules as iptables-restore input, one list of lines a table; `op` is -A, -I or -D. */
export function restoreLines(rules: readonly Rule[], op: '-A' | '-I' | '-D'): Record<Table, string[]> {
  const lines: Record<Table, string[]> = { nat: [], filter: [] };
  for (const rule of rules) lines[rule.table].push(`${op} ${rule.chain} ${rule.spec}`);
  return lines;
}
