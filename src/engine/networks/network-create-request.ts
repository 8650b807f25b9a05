import { parseGoBool } from '../../base/go-parse.ts';
import { Fault } from '../../base/fault.ts';
import { checkInterfaceName } from './driver-checks.ts';
import { isPredefinedName, type NetworkPool } from './network-record.ts';
import { checkUsableSubnet, validateSubnetRequest } from './subnet-pool.ts';

/** moby's network.IPAMConfig. */
export interface IpamConfigRequest {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** moby's network.CreateRequest as the API schema decodes it (Go field names; absent = Go's zero value). */
export interface NetworkCreateRequest {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string>; Config?: IpamConfigRequest[] };
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

/** A create request after every check that needs no other network: what the service goes on to make. */
export interface NetworkCreateSpec {
  name: string;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  /** The options as given, for inspect. */
  options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  /** `com.docker.network.bridge.name`; undefined = `br-<id12>`. */
  bridge?: string;
  masquerade: boolean;
  mtu: number;
  /** The user's IPAM config (already validated); undefined = pick a subnet from the pools. */
  pool?: Partial<NetworkPool> & { subnet: string };
}

export const bridgeOption = {
  name: 'com.docker.network.bridge.name',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  icc: 'com.docker.network.bridge.enable_icc',
  hostBinding: 'com.docker.network.bridge.host_binding_ipv4',
  defaultBridge: 'com.docker.network.bridge.default_bridge',
  mtu: 'com.docker.network.driver.mtu',
} as const;

/** What moby's daemon.createNetwork checks before it looks for a network of that name, in its order. */
export function checkCreatePreamble(request: NetworkCreateRequest): void {
  const name = request.Name ?? '';
  if (isPredefinedName(name)) throw new Fault('permission-denied', `operation is not permitted on predefined ${name} network `);
  if (request.EnableIPv4 === false) throw new Fault('invalid-argument', 'EnableIPv4=false is not supported: every network of this engine has IPv4');
  if (request.EnableIPv6) throw new Fault('invalid-argument', 'EnableIPv6 is not supported: this engine has IPv4 networks only');
  // ValidateIPAM skips IPv6 configs when IPv6 is off; they are refused with the other IPAM limits below.
  for (const config of request.IPAM?.Config ?? []) {
    if (!config.Subnet?.includes(':')) validateSubnetRequest({ subnet: config.Subnet ?? '', gateway: config.Gateway, ipRange: config.IPRange });
  }
  if (!name.trim()) throw new Fault('invalid-argument', 'invalid name: name is empty');
}

/** The checks moby's NewNetwork and the bridge driver make, in their order, once the name is known to be free. */
export function checkCreateRequest(request: NetworkCreateRequest): NetworkCreateSpec {
  checkDriver(request.Driver || 'bridge');
  if (request.Ingress) throw new Fault('permission-denied', 'Ingress network can only be global scope network');
  if (request.ConfigOnly) throw new Fault('invalid-argument', 'ConfigOnly networks are not supported by this engine');
  if (request.ConfigFrom?.Network) throw new Fault('not-found', `configuration network "${request.ConfigFrom.Network}" not found`);
  if (request.Scope && request.Scope !== 'local') {
    throw new Fault('invalid-argument', `scope "${request.Scope}" is not supported: this engine has local networks only`);
  }
  const ipamDriver = request.IPAM?.Driver || 'default';
  if (ipamDriver !== 'default') throw new Fault('not-found', `plugin "${ipamDriver}" not found`);
  const ipamOptions = request.IPAM?.Options ?? null;
  const ipamOption = Object.keys(ipamOptions ?? {})[0];
  if (ipamOption !== undefined) throw new Fault('invalid-argument', `IPAM option "${ipamOption}" is not supported by this engine`);
  const options = request.Options ?? {};
  return {
    name: request.Name ?? '',
    internal: request.Internal ?? false,
    attachable: request.Attachable ?? false,
    labels: request.Labels ?? {},
    options,
    ipamOptions,
    ...bridgeSettings(options),
    pool: poolOf(request.IPAM?.Config ?? []),
  };
}

function checkDriver(driver: string): void {
  // The host and none networks exist once each, as moby's host and null drivers allow.
  if (driver === 'host' || driver === 'null') throw new Fault('permission-denied', `only one instance of "${driver}" network is allowed`);
  if (driver !== 'bridge') throw new Fault('not-found', `plugin "${driver}" not found`);
}

/**
 * The bridge driver's options (moby bridge fromLabels), with its parse errors; what it cannot honour is refused.
 * The device name gets the driver's own check, so a name it would refuse never gets as far as a half-made network.
 */
function bridgeSettings(options: Record<string, string>): { bridge?: string; masquerade: boolean; mtu: number } {
  const out: { bridge?: string; masquerade: boolean; mtu: number } = { masquerade: true, mtu: 0 };
  for (const [key, value] of Object.entries(options)) {
    if (key === bridgeOption.name) out.bridge = checkInterfaceName(value, bridgeOption.name);
    else if (key === bridgeOption.masquerade) out.masquerade = parseBoolOption(key, value);
    else if (key === bridgeOption.mtu) out.mtu = parseMtu(value);
    else if (key === bridgeOption.icc) {
      if (!parseBoolOption(key, value)) throw new Fault('invalid-argument', `${key}=false is not supported: containers on one network always reach each other`);
    } else if (key === bridgeOption.hostBinding) {
      if (value !== '' && value !== '0.0.0.0') {
        throw new Fault('invalid-argument', `${key}=${value} is not supported: a published port binds to the address -p names, else to every address`);
      }
    } else throw new Fault('invalid-argument', `network option "${key}" is not supported by this engine's bridge driver`);
  }
  return out;
}

/** strconv.ParseBool, with the bridge driver's parse error. */
function parseBoolOption(key: string, value: string): boolean {
  const parsed = parseGoBool(value);
  if (parsed !== undefined) return parsed;
  throw new Fault('invalid-argument', `failed to parse ${key} value: ${value} (strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax)`);
}

function parseMtu(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) {
    throw new Fault('invalid-argument', `failed to parse ${bridgeOption.mtu} value: ${value} (strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax)`);
  }
  const mtu = Number(value);
  // moby checks only < 0; the kernel refuses more than 64 KiB at link time, so that is refused here.
  if (mtu < 0 || mtu > 65535) throw new Fault('invalid-argument', `invalid MTU number: ${mtu}`);
  return mtu;
}

function poolOf(configs: IpamConfigRequest[]): NetworkCreateSpec['pool'] {
  if (!configs.length) return undefined;
  if (configs.length > 1) throw new Fault('invalid-argument', 'more than one IPAM config (subnet) per network is not supported by this engine');
  const [config] = configs;
  if (config.AuxiliaryAddresses && Object.keys(config.AuxiliaryAddresses).length) {
    throw new Fault('invalid-argument', 'IPAM AuxiliaryAddresses (--aux-address) is not supported by this engine');
  }
  if (config.Subnet?.includes(':')) throw new Fault('invalid-argument', `IPv6 subnet ${config.Subnet} is not supported: this engine has IPv4 networks only`);
  checkUsableSubnet(config.Subnet ?? '');
  return { subnet: config.Subnet ?? '', ...(config.Gateway ? { gateway: config.Gateway } : {}), ...(config.IPRange ? { ipRange: config.IPRange } : {}) };
}
