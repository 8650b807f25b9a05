import { Fault } from '../../base/fault.ts';
import { networkNameOf } from './container-endpoints.ts';
import { writeEtcFiles, type EtcOptions, type HostEntry } from './bundle-files.ts';
import { findLinkTarget, linkEnv, linkHostsEntry, parseLink } from './container-links.ts';
import type { ContainerRecord } from './container-record.ts';
import type { DaemonContext } from './daemon-context.ts';
import type { NetworkMode } from './runtime.ts';

/** How a run joins its network, and what its /etc/hosts and /etc/resolv.conf say. */
export interface RunNetwork {
  network: NetworkMode;
  netnsPath?: string;
  /** The UTS name: the container's own, or the one whose namespace it shares (`container:`). */
  hostname: string;
  /** Its addresses, for the hosts lines that name it. */
  addresses: string[];
  /** The embedded DNS of its first user-defined network (that network's gateway address). */
  embeddedDns?: string;
  /** The default bridge's gateway, which `--add-host name:host-gateway` names. */
  hostGateway?: string;
  /** Legacy links on the default bridge: their /etc/hosts lines and the environment they give. */
  links: { hosts: HostEntry[]; env: string[] };
}

const noLinks = { hosts: [], env: [] };

/** moby daemon/container_operations.go: the namespace to join and the names the container's files carry. */
export function runNetwork(ctx: DaemonContext, record: ContainerRecord): RunNetwork {
  const mode = networkNameOf(record.hostConfig.NetworkMode);
  const hostGateway = defaultGateway(ctx);
  if (mode === 'host') return { network: 'host', hostname: record.config.Hostname, addresses: [], hostGateway, links: noLinks };
  if (mode === 'none') return { network: 'none', hostname: record.config.Hostname, addresses: [], hostGateway, links: noLinks };
  if (mode.startsWith('container:')) return joinedNetwork(ctx, record, mode.slice('container:'.length));
  const endpoints = Object.entries(record.networks ?? {});
  const firstUser = endpoints.find(([, s]) => safeNetwork(ctx, s.NetworkID)?.dns);
  return {
    network: 'private',
    netnsPath: record.sandboxKey,
    hostname: record.config.Hostname,
    addresses: endpoints.map(([, s]) => s.IPAddress).filter(Boolean),
    embeddedDns: firstUser?.[1].Gateway || undefined,
    hostGateway,
    links: record.networks?.bridge ? legacyLinks(ctx, record) : noLinks,
  };
}

/** What /etc/hosts and /etc/resolv.conf say for `record` on `net` besides its name. */
export function etcOptions(record: ContainerRecord, net: RunNetwork): EtcOptions {
  const strings = (key: string) => (record.hostConfig[key] as string[] | null | undefined) ?? undefined;
  return {
    domainname: record.config.Domainname,
    addresses: net.addresses,
    extraHosts: strings('ExtraHosts'),
    hostGateway: net.hostGateway,
    links: net.links.hosts,
    nameserver: net.embeddedDns,
    dns: strings('Dns'),
    dnsSearch: strings('DnsSearch'),
    dnsOptions: strings('DnsOptions'),
  };
}

/**
 * After a live connect or disconnect: the running container's /etc/hosts and /etc/resolv.conf are rewritten in
 * place (they are bind mounts of these files, so it sees the change at once), as moby rebuilds them; joining a
 * first user network switches its resolver to that network's embedded DNS.
 */
export async function rewriteEtcFiles(ctx: DaemonContext, record: ContainerRecord): Promise<void> {
  const net = runNetwork(ctx, record);
  await writeEtcFiles(ctx.bundleDir(record.id), { ...etcOptions(record, net), hostname: net.hostname, network: net.network });
}

/** `--network container:X`: X's namespace, name and addresses; X must run (moby getNetworkedContainer). */
function joinedNetwork(ctx: DaemonContext, record: ContainerRecord, target: string): RunNetwork {
  const other = ctx.deps.store.resolve(target);
  if (other.id === record.id) throw new Fault('invalid-argument', 'cannot join own network');
  if (!other.state.Running || other.state.Paused) throw new Fault('conflict', `cannot join network of a non running container: ${target}`);
  if (other.state.Restarting) throw new Fault('conflict', `Container ${other.id} is restarting, wait until the container is running`);
  const shared = runNetwork(ctx, other);
  if (shared.network === 'host') return { ...shared, links: noLinks };
  return { ...shared, network: 'private', netnsPath: shared.netnsPath ?? `/proc/${other.state.Pid}/ns/net`, links: noLinks };
}

/** moby daemon/links: `--link name:alias` to running containers on the default bridge. */
function legacyLinks(ctx: DaemonContext, record: ContainerRecord): RunNetwork['links'] {
  const out: RunNetwork['links'] = { hosts: [], env: [] };
  for (const link of (record.hostConfig.Links as string[] | null | undefined) ?? []) {
    const { name, alias } = parseLink(link);
    const linked = findLinkTarget(name, (n) => ctx.deps.store.resolve(n));
    const address = linked.networks?.bridge?.IPAddress;
    if (!linked.state.Running || !address) {
      throw new Fault('invalid-argument', `Cannot link to a non running container: ${linked.name} AS ${record.name}/${alias}`);
    }
    const target = {
      alias,
      linkedName: linked.name,
      linkedHostname: linked.config.Hostname,
      ownName: record.name,
      ip: address,
      exposedPorts: Object.keys(linked.config.ExposedPorts ?? {}),
      env: linked.config.Env ?? [],
    };
    out.hosts.push(linkHostsEntry(target));
    out.env.push(...linkEnv(target));
  }
  return out;
}

function defaultGateway(ctx: DaemonContext): string | undefined {
  try {
    return ctx.deps.networking.defaultBridge().driver?.gateway;
  } catch {
    return undefined;
  }
}

function safeNetwork(ctx: DaemonContext, id: string) {
  try {
    return ctx.deps.networking.network(id);
  } catch {
    return undefined;
  }
}
