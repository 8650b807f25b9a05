/*
 * moby's legacy links (`docker run --link name:alias`) on the default bridge: parsing the value, the /etc/hosts
 * line and the environment a linking container gets (daemon/links/links.go, daemon/container_operations_unix.go).
 * On user-defined networks a link is only a DNS alias, which the embedded DNS serves; nothing here applies.
 */
import { Fault, isFault } from '../../base/fault.ts';
import type { HostEntry } from './bundle-files.ts';

/**
 * One `--link` value: `name:alias`, `name` (the alias is the name), or the stored form `/name:/parent/alias`
 * that inspect shows and a re-submitted HostConfig carries (opts.ParseLink).
 */
export function parseLink(value: string): { name: string; alias: string } {
  if (value === '') throw new Fault('invalid-argument', 'empty string specified for links');
  const parts = value.split(':');
  if (parts.length > 2) throw new Fault('invalid-argument', `bad format for links: ${value}`);
  if (parts.length === 1) return { name: value, alias: value };
  if (parts[0].startsWith('/')) return { name: parts[0].slice(1), alias: parts[1].split('/').at(-1) ?? '' };
  return { name: parts[0], alias: parts[1] };
}

/**
 * Finds a link's target with `lookup` (which throws a not-found Fault for an unknown container); a missing target
 * is the caller's mistake, so moby answers 400 rather than 404 (which would make the CLI try to pull an image).
 */
export function findLinkTarget<T>(name: string, lookup: (name: string) => T): T {
  try {
    return lookup(name);
  } catch (err) {
    if (!isFault(err)) throw err;
    const kind = err.kind === 'not-found' ? 'invalid-argument' : err.kind;
    throw new Fault(kind, `could not get container for ${name}: ${err.message}`, { cause: err });
  }
}

/** moby's create-time refusals of links with a network mode that has no default-bridge endpoint of its own. */
export function checkLinksAllowed(networkMode: string, links: readonly string[]): void {
  if (!links.length) return;
  const conflict = networkMode === 'host' ? 'host type networking' : networkMode.startsWith('container:') ? 'container type network' : undefined;
  if (conflict) {
    throw new Fault('invalid-argument', `conflicting options: ${conflict} can't be used with links. This would result in undefined behavior`);
  }
}

/** The name moby registers a link under: `/<linking container>/<alias>` (path.Join(parent.Name, alias)). */
export function linkFullName(ownName: string, alias: string): string {
  return `/${ownName.replace(/^\/+/, '')}/${alias}`;
}

/** A link as inspect shows it in HostConfig.Links: `/<linked container>:/<linking container>/<alias>`. */
export function linkInspectEntry(linkedName: string, ownName: string, alias: string): string {
  return `/${linkedName.replace(/^\/+/, '')}:${linkFullName(ownName, alias)}`;
}

/** The linked container, as the linking one sees it at start. */
export interface LinkTarget {
  /** The alias the link was made under (`--link web:db` → `db`). */
  alias: string;
  /** The linked container's name, with or without its leading `/`. */
  linkedName: string;
  /** The linked container's Config.Hostname (its short ID unless `-h` was given). */
  linkedHostname: string;
  /** The linking container's name, with or without its leading `/`. */
  ownName: string;
  /** The linked container's address on the default bridge. */
  ip: string;
  /** The keys of the linked container's Config.ExposedPorts: `80/tcp`, `53/udp`. */
  exposedPorts: readonly string[];
  /** The linked container's Config.Env. */
  env: readonly string[];
}

/** The /etc/hosts line of a link: alias, the linked container's hostname, and its name unless that is the alias. */
export function linkHostsEntry(link: LinkTarget): HostEntry {
  const name = link.linkedName.replace(/^\/+/, '');
  const names = [link.alias, link.linkedHostname, ...(link.alias === name ? [] : [name])];
  return { ip: link.ip, names: names.join(' ') };
}

interface Port {
  port: number;
  proto: string;
}

function parsePort(key: string): Port {
  const [port, proto = 'tcp'] = key.split('/');
  return { port: Number(port), proto: proto.toLowerCase() };
}

/** moby's withTCPPriority: TCP ports first, then other protocols by name; by number within one protocol. */
function byTcpFirst(a: Port, b: Port): number {
  if (a.proto === b.proto) return a.port - b.port;
  if (a.proto === 'tcp') return -1;
  if (b.proto === 'tcp') return 1;
  return a.proto < b.proto ? -1 : 1;
}

/** The variables of each port, and of each run of consecutive ports of one protocol (Link.ToEnv). */
function portEnv(prefix: string, ip: string, ports: readonly Port[]): string[] {
  const env: string[] = [];
  const url = (p: Port) => `${p.proto}://${ip}:${p.port}`;
  const name = (p: Port) => `${prefix}_PORT_${p.port}_${p.proto.toUpperCase()}`;
  let start = ports[0];
  let end = ports[0];
  if (start) env.push(`${prefix}_PORT=${url(start)}`);
  ports.forEach((p, i) => {
    env.push(`${name(p)}=${url(p)}`, `${name(p)}_ADDR=${ip}`, `${name(p)}_PORT=${p.port}`, `${name(p)}_PROTO=${p.proto}`);
    if (p.port === end.port + 1 && p.proto === start.proto) {
      end = p;
      if (i < ports.length - 1) return;
    }
    if (end !== start) {
      env.push(`${name(start)}_START=${url(start)}`, `${name(start)}_PORT_START=${start.port}`);
      env.push(`${name(start)}_END=${url(end)}`, `${name(start)}_PORT_END=${end.port}`);
    }
    start = p;
    end = p;
  });
  return env;
}

/**
 * The environment a linking container gets for one link: <ALIAS>_PORT…, <ALIAS>_NAME=/<own>/<alias>, and the
 * linked container's variables as <ALIAS>_ENV_<NAME> (HOME and PATH left out, as moby does).
 */
export function linkEnv(link: LinkTarget): string[] {
  const prefix = link.alias.toUpperCase().replaceAll('-', '_');
  const ports = link.exposedPorts.map(parsePort).sort(byTcpFirst);
  const env = [...portEnv(prefix, link.ip, ports), `${prefix}_NAME=${linkFullName(link.ownName, link.alias)}`];
  for (const entry of link.env) {
    const eq = entry.indexOf('=');
    if (eq < 0) continue;
    const name = entry.slice(0, eq);
    if (name !== 'HOME' && name !== 'PATH') env.push(`${prefix}_ENV_${name}=${entry.slice(eq + 1)}`);
  }
  return env;
}
