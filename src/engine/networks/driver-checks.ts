/*
 * What the bridge driver checks before a value reaches an `ip -batch` or `iptables-restore` line: those read
 * words separated by spaces and commands separated by newlines, so an unchecked name could carry a second command.
 */
import { isIPv4 } from 'node:net';
import { Fault } from '../../base/fault.ts';
import type { DriverEndpoint, DriverNetwork } from './network-driver.ts';

// IFNAMSIZ - 1 bytes; no '/', ':' or whitespace (the kernel's dev_valid_name) and nothing iproute2 reads as a keyword.
const ifnamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function invalid(what: string, value: unknown): never {
  throw new Fault('invalid-argument', `invalid ${what} ${JSON.stringify(value)}`);
}

function checkIfname(what: string, name: string): void {
  if (!ifnamePattern.test(name)) invalid(what, name);
}

function checkIPv4(what: string, address: string): void {
  if (!isIPv4(address)) invalid(what, address);
}

export function checkNetwork(network: DriverNetwork): void {
  checkIfname('bridge name', network.bridge);
  const [address, prefix, extra] = network.subnet.split('/');
  if (extra !== undefined || !isIPv4(address ?? '') || !/^\d{1,2}$/.test(prefix ?? '') || Number(prefix) > 32) invalid('subnet', network.subnet);
  checkIPv4('gateway', network.gateway);
  if (!Number.isInteger(network.mtu) || network.mtu < 0 || network.mtu > 65535) invalid('mtu', network.mtu);
}

export function checkEndpoint(endpoint: DriverEndpoint): void {
  checkNetwork(endpoint.network);
  checkIfname('interface name', endpoint.ifname);
  checkIfname('host interface name', endpoint.hostIfname);
  checkIPv4('address', endpoint.address);
  if (!Number.isInteger(endpoint.prefixLength) || endpoint.prefixLength < 0 || endpoint.prefixLength > 32) invalid('prefix length', endpoint.prefixLength);
  if (!macPattern.test(endpoint.mac)) invalid('MAC address', endpoint.mac);
  for (const port of endpoint.ports) {
    if (port.protocol !== 'tcp' && port.protocol !== 'udp') invalid('protocol', port.protocol);
    if (port.hostIp !== '') checkIPv4('host IP', port.hostIp);
    for (const n of [port.hostPort, port.containerPort]) if (!Number.isInteger(n) || n < 1 || n > 65535) invalid('port', n);
  }
}
