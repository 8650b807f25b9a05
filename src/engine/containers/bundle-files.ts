/*
 * The files a bundle needs besides config.json: /etc/hostname, /etc/hosts and /etc/resolv.conf (written into
 * the bundle directory and bind-mounted, as moby does from the container directory), and the user the
 * process runs as, resolved against the image's /etc/passwd and /etc/group without mounting the rootfs.
 */
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Fault } from '../../base/fault.ts';
import type { Mount } from '../snapshots/snapshotter.ts';
import type { NetworkMode } from './runtime.ts';

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

/** moby's fallback when the host has no resolver reachable from the container (libnetwork resolvconf). */
const defaultNameservers = ['8.8.8.8', '8.8.4.4'];

export function hostsFile(options: { hostname: string; network: NetworkMode; extraHosts?: readonly string[] }): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...(options.extraHosts ?? []),
  ];
  if (options.network !== 'host') lines.push(`127.0.1.1\t${options.hostname}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The host's resolv.conf for the container. In a private network namespace the host's loopback resolvers
 * (systemd-resolved, dnsmasq) are unreachable: they are dropped, and moby's defaults used if none remain.
 */
export function resolvConf(host: string, options: { network: NetworkMode; dns?: readonly string[] }): string {
  const others = host.split('\n').filter((l) => !/^\s*nameserver\s/.test(l));
  let servers = [...host.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  if (options.dns?.length) servers = [...options.dns];
  else if (options.network !== 'host') {
    servers = servers.filter((s) => !/^127\.|^::1$/.test(s));
    if (!servers.length) servers = defaultNameservers;
  }
  return `${[...others.filter((l) => l.trim()), ...servers.map((s) => `nameserver ${s}`)].join('\n')}\n`;
}

/** Writes hostname, hosts and resolv.conf into `dir`. */
export async function writeEtcFiles(
  dir: string,
  options: { hostname: string; network: NetworkMode; extraHosts?: readonly string[]; dns?: readonly string[] },
): Promise<EtcFiles> {
  const files = { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
  const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await Promise.all([
    writeFile(files.hostname, `${options.hostname}\n`),
    writeFile(files.hosts, hostsFile(options)),
    writeFile(files.resolvConf, resolvConf(hostResolv, options)),
  ]);
  return files;
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
