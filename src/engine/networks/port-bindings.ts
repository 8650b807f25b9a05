/*
 * From a container's configuration to the host ports it asks for, and from the ports it got back to what
 * inspect and ps show. Checks and texts follow moby v28.5.2 and the go-connections/nat v0.5.0 it vendors:
 * - daemon/container.go validatePortBindings: a bad key or HostPort is `invalid port specification: "X"`;
 * - daemon/network.go buildPortsRelatedCreateEndpointOptions: every exposed port is listed, each binding is
 *   published, and -P (PublishAllPorts) publishes the exposed ports without a binding on an ephemeral host port;
 * - daemon/network.go getEndpointPortMapInfo and container/view.go: the NetworkSettings.Ports map and ps's Ports.
 * Where dockerd would go on silently (an unknown protocol, a HostIp that does not parse, container port 0) we
 * refuse with the wording go-connections' ParsePortSpec uses for the same mistake on the CLI side.
 */
import { Fault } from '../../base/fault.ts';
import { parseIpv4 } from './cidr.ts';
import type { PortMapping } from './network-driver.ts';

export interface HostBinding {
  HostIp?: string;
  HostPort?: string;
}

/** HostConfig.PortBindings: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`. */
export type PortBindingMap = Record<string, HostBinding[] | null>;

export interface PortConfig {
  portBindings?: PortBindingMap | null;
  /** Config.ExposedPorts: `{"80/tcp": {}}`, from the image and `--expose`. */
  exposedPorts?: Record<string, unknown> | null;
  publishAllPorts?: boolean;
}

/** One host port to take. `hostIp` '' = every IPv4 address; `hostPortRange` undefined = an ephemeral port. */
export interface PortRequest {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPortRange: [number, number] | undefined;
  containerPort: number;
}

/** NetworkSettings.Ports: published ports with their bindings, exposed-only ports with null. */
export type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

/** One entry of `GET /containers/json`'s Ports (api/types/container/port.go). */
export interface PsPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

interface ContainerPort {
  port: number;
  protocol: string;
}

/** The host ports a container asks for, in container-port order. Throws invalid-argument on a bad spec. */
export function portRequests(config: PortConfig): PortRequest[] {
  const bindings = normalizedBindings(config.portBindings);
  const requests: PortRequest[] = [];
  for (const target of exposedPorts(config, bindings)) {
    const list = bindings.get(portKey(target))?.list ?? [];
    for (const binding of list) requests.push(requestFor(target, binding));
    if (list.length === 0 && config.publishAllPorts) requests.push(requestFor(target, {}));
  }
  return requests;
}

/** Every port the container exposes (`80/tcp`), published or not, sorted by port then protocol. */
export function exposedPortKeys(config: PortConfig): string[] {
  return exposedPorts(config, normalizedBindings(config.portBindings)).map(portKey);
}

// Keys as clients write them ("80", "80/TCP") folded into dockerd's form ("80/tcp").
function normalizedBindings(map: PortBindingMap | null | undefined): Map<string, { port: ContainerPort; list: HostBinding[] }> {
  const bindings = new Map<string, { port: ContainerPort; list: HostBinding[] }>();
  for (const [key, list] of Object.entries(map ?? {})) {
    const port = parsePortKey(key);
    const entry = bindings.get(portKey(port)) ?? { port, list: [] };
    entry.list.push(...(list ?? []));
    bindings.set(portKey(port), entry);
  }
  return bindings;
}

function exposedPorts(config: PortConfig, bindings: Map<string, { port: ContainerPort }>): ContainerPort[] {
  const ports = new Map([...bindings].map(([key, entry]) => [key, entry.port]));
  for (const key of Object.keys(config.exposedPorts ?? {})) {
    for (const p of expandExposed(key)) ports.set(portKey(p), p);
  }
  return [...ports.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

function portKey(p: ContainerPort): string {
  return `${p.port}/${p.protocol}`;
}

/** `80/tcp`, `53/udp`, `80` (tcp); nat.SplitProtoPort then nat.ParsePort, but port 0 is refused too. */
function parsePortKey(key: string): ContainerPort {
  const [portText, protoText] = key.split('/');
  const port = parsePortNumber(portText);
  if (port === undefined || port === 0) throw new Fault('invalid-argument', `invalid port specification: ${goQuote(portText)}`);
  return { port, protocol: parseProtocol(protoText) };
}

/** An image's EXPOSE may carry a range (`8000-8010/tcp`); each port in it is exposed. */
function expandExposed(key: string): ContainerPort[] {
  const [portText, protoText] = key.split('/');
  const range = parseRange(portText);
  if (!range || range[0] === 0) throw new Fault('invalid-argument', `invalid port specification: ${goQuote(portText)}`);
  const protocol = parseProtocol(protoText);
  return Array.from({ length: range[1] - range[0] + 1 }, (_, i) => ({ port: range[0] + i, protocol }));
}

function parseProtocol(text: string | undefined): string {
  const protocol = (text || 'tcp').toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new Fault('invalid-argument', `invalid proto: ${text}`);
  return protocol;
}

function requestFor(target: ContainerPort, binding: HostBinding): PortRequest {
  if (target.protocol === 'sctp') throw new Fault('not-implemented', `publishing sctp ports is not supported: ${portKey(target)}`);
  return {
    protocol: target.protocol as 'tcp' | 'udp',
    hostIp: parseHostIp(binding.HostIp ?? ''),
    hostPortRange: parseHostPort(binding.HostPort ?? ''),
    containerPort: target.port,
  };
}

function parseHostIp(text: string): string {
  if (text === '' || text === '0.0.0.0') return '';
  if (parseIpv4(text) !== undefined) return text;
  if (text.includes(':')) throw new Fault('not-implemented', `publishing on an IPv6 host address is not supported: ${text}`);
  throw new Fault('invalid-argument', `invalid IP address: ${text}`);
}

/** HostPort: '' or '0' = ephemeral, '8080', '8000-8010'; like nat.NewPort(nat.SplitProtoPort(HostPort)). */
function parseHostPort(text: string): [number, number] | undefined {
  const portText = text.split('/')[0];
  if (portText === '') return undefined;
  const range = parseRange(portText);
  if (!range || (range[0] === 0 && range[1] !== 0)) throw new Fault('invalid-argument', `invalid port specification: ${goQuote(text)}`);
  return range[0] === 0 ? undefined : range;
}

function parseRange(text: string): [number, number] | undefined {
  const [startText, endText] = text.split('-');
  const start = parsePortNumber(startText);
  const end = endText === undefined ? start : parsePortNumber(endText);
  if (start === undefined || end === undefined || end < start) return undefined;
  return [start, end];
}

// strconv.ParseUint(s, 10, 16): digits only, at most 65535.
function parsePortNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

// Go's %q for the ASCII a port spec holds.
function goQuote(text: string | undefined): string {
  return JSON.stringify(text ?? '');
}

/** NetworkSettings.Ports: HostIp '0.0.0.0' for every address, as dockerd reports an IPv4 wildcard binding. */
export function networkSettingsPorts(exposed: string[], mappings: PortMapping[]): PortMap {
  const ports: PortMap = {};
  for (const key of exposed) ports[key] = null;
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    (ports[key] ??= []).push({ HostIp: m.hostIp || '0.0.0.0', HostPort: String(m.hostPort) });
  }
  return ports;
}

/** `docker ps` Ports from a Ports map: one entry per binding, a bare entry for an exposed-only port. */
export function psPorts(ports: PortMap): PsPort[] {
  const list: PsPort[] = [];
  for (const [key, bindings] of Object.entries(ports)) {
    const [portText, protocol = 'tcp'] = key.split('/');
    const privatePort = Number(portText);
    if (!bindings || bindings.length === 0) {
      list.push({ PrivatePort: privatePort, Type: protocol });
      continue;
    }
    for (const b of bindings) list.push({ IP: b.HostIp, PrivatePort: privatePort, PublicPort: Number(b.HostPort), Type: protocol });
  }
  return list;
}
