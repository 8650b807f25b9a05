/*
 * What the bridge driver checks before a value reaches an `ip -batch` or `iptables-restore` line: those read
 * words separated by spaces and commands separated by newlines, so an unchecked name could carry a second command.
 */
import { isIPv4 } from 'node:net';
import { Fault } from '../../base/fault.ts';
import type { DriverEndpoint, DriverNetwork } from './network-driver.ts';

// IFNAMSIZ - 1 bytes of characters that need no quoting in an `ip -batch` or `iptables-restore` line (stricter
// than the kernel's dev_valid_name). iproute2 keywords such as `up`, `type` or `dev` pass: the driver writes every
// name after `dev`, `name` or `-i`/`-o`, where the tools take the next word as a name whatever it spells.
const ifnamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** A MAC address as `--mac-address` and the driver take it. */
export const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function invalid(what: string, value: unknown): never {
  throw new Fault('invalid-argument', `invalid ${what} ${JSON.stringify(value)}`);
}

/** True when `name` is an interface name the driver can make and name in its commands. */
export function isInterfaceName(name: string): boolean {
  return ifnamePattern.test(name);
}

/** Throws an invalid-argument Fault unless `name` is an interface name the driver accepts; returns it. */
export function checkInterfaceName(name: string, what = 'interface name'): string {
  if (!isInterfaceName(name)) {
    throw new Fault(
      'invalid-argument',
      `invalid ${what} ${JSON.stringify(name)}: an interface name has 1 to 15 characters, letters, digits, "_", "." or "-", and starts with a letter or digit`,
    );
  }
  return name;
}

function checkIPv4(what: string, address: string): void {
  if (!isIPv4(address)) invalid(what, address);
}

export function checkNetwork(network: DriverNetwork): void {
  checkInterfaceName(network.bridge, 'bridge name');
  // Part of the bridge's alias, which goes into an `ip -batch` line.
  if (!/^[0-9a-f]{64}$/.test(network.id)) invalid('network ID', network.id);
  const [address, prefix, extra] = network.subnet.split('/');
  if (extra !== undefined || !isIPv4(address ?? '') || !/^\d{1,2}$/.test(prefix ?? '') || Number(prefix) > 32) invalid('subnet', network.subnet);
  checkIPv4('gateway', network.gateway);
  if (!Number.isInteger(network.mtu) || network.mtu < 0 || network.mtu > 65535) invalid('mtu', network.mtu);
}

export function checkEndpoint(endpoint: DriverEndpoint): void {
  checkNetwork(endpoint.network);
  checkInterfaceName(endpoint.ifname);
  checkInterfaceName(endpoint.hostIfname, 'host interface name');
  checkIPv4('address', endpoint.address);
  if (!Number.isInteger(endpoint.prefixLength) || endpoint.prefixLength < 0 || endpoint.prefixLength > 32) invalid('prefix length', endpoint.prefixLength);
  if (!macPattern.test(endpoint.mac)) invalid('MAC address', endpoint.mac);
  for (const port of endpoint.ports) {
    if (port.protocol !== 'tcp' && port.protocol !== 'udp') invalid('protocol', port.protocol);
    if (port.hostIp !== '') checkIPv4('host IP', port.hostIp);
    for (const n of [port.hostPort, port.containerPort]) if (!Number.isInteger(n) || n < 1 || n > 65535) invalid('port', n);
  }
}
