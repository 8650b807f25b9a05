/*
 * The files a bundle needs besides config.json: /etc/hostname, /etc/hosts and /etc/resolv.conf (written into
 * the bundle directory and bind-mounted, as moby does from the container directory), and the user the
 * process runs as, resolved against the image's /etc/passwd and /etc/group without mounting the rootfs.
 */
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Fault } from '../../base/fault.ts';
import type { Mount } from '../snapshots/snapshotter.ts';

/**
 * `private`: a network namespace of its own (the engine's, joined by path, or a new one with only loopback).
 * `host`: the host's. `none`: as private, loopback only.
 */
export type NetworkMode = 'none' | 'host' | 'private';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The passwd home directory, for HOME when the image and user set none (moby does the same). */
  home: string;
}

export interface EtcFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

/** One /etc/hosts line: an address and the names it carries, space-separated (moby's etchosts.Record). */
export interface HostEntry {
  ip: string;
  names: string;
}

/**
 * The address text Go's netip.Addr prints for `text` (IPv6 compressed and lower-cased, an IPv4-mapped address
 * in dotted form, a zone kept), or undefined when it is no address: moby writes its files through netip.
 */
export function canonicalIp(text: string): string | undefined {
  const kind = isIP(text.split('%')[0]);
  if (kind === 4) return text.includes('%') ? undefined : text;
  if (kind !== 6) return undefined;
  const [addr, zone] = text.split('%');
  const compressed = new URL(`http://[${addr}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  const v4 = mapped ? [mapped[1], mapped[2]].flatMap((h) => [parseInt(h, 16) >> 8, parseInt(h, 16) & 255]).join('.') : undefined;
  const printed = v4 ? `::ffff:${v4}` : compressed;
  return zone === undefined ? printed : `${printed}%${zone}`;
}

const isIPv6Text = (ip: string) => ip.includes(':');

/** moby's HostGatewayName: `--add-host name:host-gateway` maps name to the default bridge's gateway. */
export const hostGatewayName = 'host-gateway';

/**
 * One `--add-host` value as the API carries it (`name:ip`, split at the first colon so IPv6 addresses work), checked
 * with moby's words (opts.ValidateExtraHost). The ip may be `host-gateway`, resolved later by hostsFile.
 */
export function parseExtraHost(value: string): { name: string; ip: string } {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new Fault('invalid-argument', `bad format for add-host: ${JSON.stringify(value)}`);
  const name = value.slice(0, colon);
  const ip = value.slice(colon + 1);
  if (ip === hostGatewayName) return { name, ip };
  const canonical = canonicalIp(ip.trim());
  if (!canonical || canonical.includes('%')) throw new Fault('invalid-argument', `invalid IP address in add-host: ${JSON.stringify(ip)}`);
  return { name, ip: canonical };
}

/** `--add-host` values as hosts entries, `host-gateway` replaced by `hostGateway` (moby buildSandboxOptions). */
export function extraHostEntries(values: readonly string[], hostGateway: string | undefined): HostEntry[] {
  return values.map((value) => {
    const { name, ip } = parseExtraHost(value);
    if (ip !== hostGatewayName) return { ip, names: name };
    if (!hostGateway) throw new Fault('unavailable', 'unable to derive the IP value for host-gateway');
    return { ip: hostGateway, names: name };
  });
}

export interface HostsOptions {
  hostname: string;
  domainname?: string;
  network: NetworkMode;
  /** The container's own addresses on its networks at start, one line each; none on `none` and `host`. */
  addresses?: readonly string[];
  /** HostConfig.ExtraHosts as the API carries them: `name:ip` or `name:host-gateway`. */
  extraHosts?: readonly string[];
  /** The default bridge's gateway address, for `host-gateway` (moby: the daemon's host-gateway-ip). */
  hostGateway?: string;
  /** `--link` lines (container-links.ts linkHostsEntry), written after the `--add-host` ones as moby does. */
  links?: readonly HostEntry[];
  /** Whether the container's loopback has IPv6: without it moby leaves out every IPv6 line. Default true. */
  loopbackIPv6?: boolean;
  /** The host's /etc/hosts: `--network host` without `--add-host` gets it verbatim (moby copies the file). */
  hostHosts?: string;
}

const defaultHostsV4: HostEntry[] = [{ ip: '127.0.0.1', names: 'localhost' }];
const defaultHostsV6: HostEntry[] = [
  { ip: '::1', names: 'localhost ip6-localhost ip6-loopback' },
  { ip: 'fe00::', names: 'ip6-localnet' },
  { ip: 'ff00::', names: 'ip6-mcastprefix' },
  { ip: 'ff02::1', names: 'ip6-allnodes' },
  { ip: 'ff02::2', names: 'ip6-allrouters' },
];

/** The names of the container's own lines: the FQDN, then the bare hostname if they differ (moby makeHostsRecs). */
function ownNames(hostname: string, domainname: string | undefined): string {
  const fqdn = domainname ? `${hostname}.${domainname}` : hostname;
  return fqdn.includes('.') ? `${fqdn} ${fqdn.split('.')[0]}` : fqdn;
}

/** /etc/hosts as moby 28 writes it (libnetwork sandbox_dns_unix.go buildHostsFile, etchosts.Build). */
export function hostsFile(options: HostsOptions): string {
  const extra = extraHostEntries(options.extraHosts ?? [], options.hostGateway);
  if (options.network === 'host' && !extra.length) return options.hostHosts ?? '';
  const own = (options.addresses ?? []).map((ip) => ({ ip: canonicalIp(ip) ?? ip, names: ownNames(options.hostname, options.domainname) }));
  const ipv6 = options.loopbackIPv6 ?? true;
  const added = [...extra, ...(options.links ?? []), ...own].filter((e) => ipv6 || !isIPv6Text(e.ip));
  return [...defaultHostsV4, ...(ipv6 ? defaultHostsV6 : []), ...added].map((e) => `${e.ip}\t${e.names}\n`).join('');
}

/** A resolver the embedded DNS forwards to; hostLoopback: read from the host's file, so reached from the host's namespace. */
export interface UpstreamServer {
  address: string;
  hostLoopback: boolean;
}

export interface ResolvOptions {
  network: NetworkMode;
  /**
   * The embedded DNS's address, for a container on a user-defined network. moby writes 127.0.0.11 and DNATs it
   * inside the container's namespace to a resolver running there; wharf's one resolver runs in the engine on each
   * user network's gateway address, so that address is the container's nameserver.
   */
  nameserver?: string;
  /** `--dns`, `--dns-search`, `--dns-option`: each replaces the host's servers, search domains or options. */
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOptions?: readonly string[];
  /** Whether the container's network has IPv6: without it the host's IPv6 resolvers are dropped (legacy networks). */
  networkIPv6?: boolean;
  /** The host file the content came from, named in the trailing comment. Default /etc/resolv.conf. */
  sourcePath?: string;
}

/** moby's fallbacks when no resolver reachable from the container remains (libnetwork/internal/resolvconf). */
const defaultNameserversV4 = ['8.8.8.8', '8.8.4.4'];
const defaultNameserversV6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];

const resolvHeader = `# Generated by Docker Engine.
# This file can be edited; Docker Engine will not make further changes once it
# has been modified.`;

/** A parsed resolv.conf plus where its parts came from, for the trailing comments moby writes. */
interface ResolvModel {
  nameservers: string[];
  search: string[];
  options: string[];
  other: string[];
  invalid: string[];
  overrides: string[];
  ndotsFrom: string;
  transform: string;
  usedDefaults: boolean;
  upstreams: UpstreamServer[];
}

const hasOption = (options: readonly string[], name: string) => options.some((o) => o.split(':')[0] === name);

/** resolvconf.Parse: the last search line wins, options accumulate, unknown directives are kept verbatim. */
function parseResolvConf(text: string): ResolvModel {
  const rc: ResolvModel = {
    ...{ nameservers: [], search: [], options: [], other: [], invalid: [], overrides: [], upstreams: [] },
    ...{ ndotsFrom: '', transform: '', usedDefaults: false },
  };
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/).filter(Boolean);
    if (!fields.length || fields[0][0] === '#' || fields[0][0] === ';') continue;
    const [directive, ...args] = fields;
    if (directive === 'nameserver') {
      if (!args.length) continue;
      const ip = canonicalIp(args[0]);
      if (ip) rc.nameservers.push(ip);
      else rc.invalid.push(args[0]);
    } else if (directive === 'search' || directive === 'domain') {
      if (args.length) rc.search = args;
    } else if (directive === 'options') {
      rc.options.push(...args);
    } else rc.other.push(line);
  }
  if (hasOption(rc.options, 'ndots')) rc.ndotsFrom = 'host';
  return rc;
}

/** Sandbox.loadResolvConf: `--dns*` values replace the host's, each kind on its own. */
function applyOverrides(rc: ResolvModel, options: ResolvOptions): void {
  if (options.dns?.length) {
    rc.nameservers = options.dns.map((ns) => {
      const ip = canonicalIp(ns);
      if (!ip) throw new Fault('invalid-argument', `bad nameserver address ${ns}`);
      return ip;
    });
    rc.overrides.push('nameservers');
  }
  if (options.dnsSearch?.length) {
    rc.search = options.dnsSearch.filter((s) => s !== '.');
    rc.overrides.push('search');
  }
  if (options.dnsOptions?.length) {
    rc.options = [...options.dnsOptions];
    rc.ndotsFrom = hasOption(rc.options, 'ndots') ? 'override' : '';
    rc.overrides.push('options');
  }
}

/** TransformForLegacyNw: no resolver of its own, so the host's loopback ones (unreachable) go, moby's defaults if none remain. */
function transformForLegacy(rc: ResolvModel, ipv6: boolean): void {
  rc.transform = 'legacy';
  if (rc.overrides.includes('nameservers')) return;
  rc.nameservers = rc.nameservers.filter((ns) => !/^127\.|^::1$/.test(ns) && (ipv6 || !isIPv6Text(ns)));
  if (rc.nameservers.length) return;
  rc.nameservers = [...defaultNameserversV4, ...(ipv6 ? defaultNameserversV6 : [])];
  rc.usedDefaults = true;
}

const validNdots = (option: string) => {
  const [name, value = ''] = option.split(':');
  return name !== 'ndots' || (/^[+-]?\d+$/.test(value) && Number(value) >= 0);
};

/** TransformForIntNS: the embedded DNS is the only nameserver (the others become its upstreams), with ndots:0 unless set. */
function transformForInternal(rc: ResolvModel, nameserver: string): void {
  const hostLoopback = !rc.overrides.includes('nameservers');
  rc.upstreams = rc.nameservers.map((address) => ({ address, hostLoopback }));
  rc.nameservers = [canonicalIp(nameserver) ?? nameserver];
  rc.options = rc.options.filter(validNdots);
  if (!hasOption(rc.options, 'ndots')) {
    rc.options.push('ndots:0');
    rc.ndotsFrom = 'internal';
  }
  rc.transform = 'internal resolver';
}

const goList = (items: readonly string[]) => `[${items.join(' ')}]`;

/** resolvconf.Generate with comments: the header, the directives, then how the file was made. */
function renderResolvConf(rc: ResolvModel, sourcePath: string): string {
  const lines = [resolvHeader, '', ...rc.nameservers.map((ns) => `nameserver ${ns}`)];
  if (rc.search.length) lines.push(`search ${rc.search.join(' ')}`);
  if (rc.options.length) lines.push(`options ${rc.options.join(' ')}`);
  lines.push(...rc.other, '', `# Based on host file: '${sourcePath}'${rc.transform ? ` (${rc.transform})` : ''}`);
  if (rc.usedDefaults) lines.push('# Used default nameservers.');
  if (rc.upstreams.length) lines.push(`# ExtServers: ${goList(rc.upstreams.map((u) => (u.hostLoopback ? `host(${u.address})` : u.address)))}`);
  if (rc.invalid.length) lines.push(`# Invalid nameservers: ${goList(rc.invalid)}`);
  lines.push(`# Overrides: ${goList(rc.overrides)}`);
  if (rc.ndotsFrom) lines.push(`# Option ndots from: ${rc.ndotsFrom}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The container's resolv.conf as moby 28 writes it from the host's (`host`): `--network host` keeps the host's
 * resolvers; a user-defined network (`nameserver` given) gets the embedded DNS, the host's or `--dns` servers
 * becoming its upstreams; the default bridge and `none` get the host's minus loopback ones, or moby's defaults.
 */
export function resolvConf(host: string, options: ResolvOptions): { text: string; upstreams: UpstreamServer[] } {
  const rc = parseResolvConf(host);
  applyOverrides(rc, options);
  if (options.nameserver) transformForInternal(rc, options.nameserver);
  else if (options.network !== 'host') transformForLegacy(rc, options.networkIPv6 ?? false);
  return { text: renderResolvConf(rc, options.sourcePath ?? hostResolvConfPath), upstreams: rc.upstreams };
}

const hostResolvConfPath = '/etc/resolv.conf';
/** systemd-resolved's list of real upstreams, used when the host's file names only its stub (resolvconf.Path). */
const systemdResolvConfPath = '/run/systemd/resolve/resolv.conf';

/** The host resolv.conf moby starts from, with its path; a missing file reads as empty, as moby treats it. */
export async function readHostResolvConf(): Promise<{ path: string; text: string }> {
  const text = await readFile(hostResolvConfPath, 'utf8').catch(() => '');
  const servers = parseResolvConf(text).nameservers;
  if (servers.length !== 1 || servers[0] !== '127.0.0.53') return { path: hostResolvConfPath, text };
  const resolved = await readFile(systemdResolvConfPath, 'utf8').catch(() => undefined);
  return resolved === undefined ? { path: hostResolvConfPath, text } : { path: systemdResolvConfPath, text: resolved };
}

/** What a run's /etc/hosts and /etc/resolv.conf say besides its name and network mode. */
export type EtcOptions = Omit<HostsOptions, 'hostHosts' | 'hostname' | 'network'> & Omit<ResolvOptions, 'sourcePath' | 'network'>;

/** Writes hostname, hosts and resolv.conf into `dir`; also returns the embedded DNS's upstreams for this container. */
export async function writeEtcFiles(
  dir: string,
  options: EtcOptions & { hostname: string; network: NetworkMode },
): Promise<EtcFiles & { upstreams: UpstreamServer[] }> {
  const files = { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
  const [hostResolv, hostHosts] = await Promise.all([
    readHostResolvConf(),
    options.network === 'host' ? readFile('/etc/hosts', 'utf8').catch(() => '') : undefined,
  ]);
  const resolv = resolvConf(hostResolv.text, { ...options, sourcePath: hostResolv.path });
  await Promise.all([
    writeFile(files.hostname, `${options.hostname}\n`),
    writeFile(files.hosts, hostsFile({ ...options, hostHosts })),
    writeFile(files.resolvConf, resolv.text),
  ]);
  return { ...files, upstreams: resolv.upstreams };
}

/**
 * Reads a small file of a rootfs given as snapshot mounts, without mounting: the upper directory first, then
 * the lower layers top-down; a whiteout (character device 0/0) hides the file.
 */
export async function readRootfsFile(mounts: readonly Mount[], path: string): Promise<string | undefined> {
  const mount = mounts.at(-1);
  if (!mount) return undefined;
  const option = (key: string) => mount.options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1);
  const dirs = mount.type === 'overlay' ? [option('upperdir'), ...(option('lowerdir') ?? '').split(':')] : [mount.source];
  for (const dir of dirs.filter((d): d is string => Boolean(d))) {
    const file = join(dir, path);
    const st = await lstat(file).catch(() => undefined);
    if (!st) continue;
    if (st.isCharacterDevice() && st.rdev === 0) return undefined;
    return readFile(file, 'utf8').catch(() => undefined);
  }
  return undefined;
}

function parseColonFile(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/**
 * docker's user spec: '' (root), `name`, `uid`, `uid:gid`, `name:group`, resolved against the image's passwd
 * and group (moby/sys user.GetExecUser). A numeric uid absent from passwd is allowed (gid 0, home /).
 */
export async function resolveUser(read: (path: string) => Promise<string | undefined>, spec: string): Promise<ResolvedUser> {
  const [userPart, groupPart] = (spec || '0').split(':');
  const passwd = parseColonFile((await read('etc/passwd')) ?? '');
  const groups = parseColonFile((await read('etc/group')) ?? '');
  const entry = passwd.find((p) => p[0] === userPart) ?? (/^\d+$/.test(userPart) ? passwd.find((p) => p[2] === userPart) : undefined);
  let uid: number;
  let gid: number;
  if (entry) {
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    gid = 0;
  } else {
    throw new Fault('invalid-argument', `unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined) {
    const group = groups.find((g) => g[0] === groupPart) ?? (/^\d+$/.test(groupPart) ? groups.find((g) => g[2] === groupPart) : undefined);
    if (group) gid = Number(group[2]);
    else if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else throw new Fault('invalid-argument', `unable to find group ${groupPart}: no matching entries in group file`);
  }
  const name = entry?.[0];
  const additionalGids = name ? groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2])) : [];
  return { uid, gid, additionalGids: [...new Set(additionalGids)].filter((g) => g !== gid), home: entry?.[5] || '/' };
}
