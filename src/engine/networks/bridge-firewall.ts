/*
 * The firewall rules of the bridge driver as data (no I/O). Every rule lives in a chain of this engine's own,
 * `WHARF-<instance>-<X>`, reached by one jump from each built-in chain it needs; specs are written the way
 * `iptables -S` prints them so that a rule read back can be compared with the one that was written.
 *
 * filter FORWARD: TO, jumped to from the top, holds what must not depend on the host's rules: every packet
 * leaving by one of our bridges is accepted only from the same bridge, as a reply, or as a published port, and
 * dropped otherwise; whatever enters from an internal network and leaves elsewhere is dropped. FROM, jumped to
 * from the end, accepts what other networks' containers send out, after the host's own FORWARD rules (dockerd's
 * DOCKER-USER and DOCKER-FORWARD among them) had their say. Because TO decides everything bound for a bridge
 * before FROM accepts anything coming out of one, two networks are isolated whatever order they were made in.
 *
 * raw PREROUTING: RAW drops packets for 127.0.0.0/8 entering by a bridge. route_localnet=1 on the bridge (which
 * 127.0.0.1:<published port> needs) would otherwise let a container reach the host's loopback services
 * (CVE-2020-8558). raw runs before conntrack, so replies to the host's own 127.0.0.1 connections, which arrive
 * addressed to the gateway and are rewritten later, are not touched.
 */
import type { FirewallTable } from './host-commands.ts';
import type { DriverEndpoint, DriverNetwork } from './network-driver.ts';

export type Table = FirewallTable;

/** One rule: `-A <chain> <spec>` in `table`. */
export interface Rule {
  table: Table;
  chain: string;
  spec: string;
}

export interface BridgeChains {
  /** raw: loopback destinations arriving by a bridge are dropped, reached from PREROUTING. */
  raw: string;
  /** nat: published ports (DNAT), reached from PREROUTING and OUTPUT for local destinations. */
  dnat: string;
  /** nat: masquerading, reached from POSTROUTING. */
  post: string;
  /** filter: reached from the top of FORWARD. */
  to: string;
  /** filter: reached from the end of FORWARD. */
  from: string;
}

/** A jump from a built-in chain: inserted at its top or appended at its end. */
export interface Jump extends Rule {
  at: '-I' | '-A';
}

/** What every chain of the engine `instance` is named with, and no other engine's. */
export function chainPrefix(instance: string): string {
  return `WHARF-${instance}-`;
}

export function bridgeChains(instance: string): BridgeChains {
  const chain = (x: string) => `${chainPrefix(instance)}${x}`;
  return { raw: chain('RAW'), dnat: chain('DNAT'), post: chain('POST'), to: chain('TO'), from: chain('FROM') };
}

/** The chains as [table, name] pairs. */
export function chainTables(chains: BridgeChains): [Table, string][] {
  return [
    ['raw', chains.raw],
    ['nat', chains.dnat],
    ['nat', chains.post],
    ['filter', chains.to],
    ['filter', chains.from],
  ];
}

/** The jumps from the built-in chains. */
export function jumpRules(chains: BridgeChains): Jump[] {
  const local = `-m addrtype --dst-type LOCAL -j ${chains.dnat}`;
  return [
    { table: 'raw', chain: 'PREROUTING', spec: `-j ${chains.raw}`, at: '-I' },
    { table: 'nat', chain: 'PREROUTING', spec: local, at: '-I' },
    { table: 'nat', chain: 'OUTPUT', spec: local, at: '-I' },
    { table: 'nat', chain: 'POSTROUTING', spec: `-j ${chains.post}`, at: '-I' },
    // TO only protects our bridges, so it goes first; FROM only accepts, so the host's rules come before it.
    { table: 'filter', chain: 'FORWARD', spec: `-j ${chains.to}`, at: '-I' },
    { table: 'filter', chain: 'FORWARD', spec: `-j ${chains.from}`, at: '-A' },
  ];
}

/** A network's rules, in the order they must be appended. */
export function networkRules(chains: BridgeChains, network: DriverNetwork): Rule[] {
  const { bridge: br, subnet } = network;
  const loopback: Rule = { table: 'raw', chain: chains.raw, spec: `-d 127.0.0.0/8 -i ${br} -j DROP` };
  const nat = (spec: string): Rule => ({ table: 'nat', chain: chains.post, spec });
  const to = (spec: string): Rule => ({ table: 'filter', chain: chains.to, spec });
  const from = (spec: string): Rule => ({ table: 'filter', chain: chains.from, spec });
  if (network.internal) {
    // All in TO, ahead of the host's FORWARD rules: an internal network stays closed whatever those accept.
    return [loopback, to(`-i ${br} -o ${br} -j ACCEPT`), to(`-o ${br} -j DROP`), to(`-i ${br} -j DROP`)];
  }
  return [
    loopback,
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
  const lines: Record<Table, string[]> = { raw: [], nat: [], filter: [] };
  for (const rule of rules) lines[rule.table].push(`${op} ${rule.chain} ${rule.spec}`);
  return lines;
}
