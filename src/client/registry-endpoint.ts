import { isIP } from 'node:net';

/** Docker Hub's API host; `docker.io` is only its name in references. */
const hubEndpoint = 'registry-1.docker.io';

/** The host to dial for a reference domain. */
export function registryHost(domain: string): string {
  return domain === 'docker.io' ? hubEndpoint : domain;
}

/**
 * Whether `host` may be reached over plain http or unverified TLS: it is listed (host, host:port or IPv4 CIDR)
 * or loopback, which moby treats as insecure by default (InsecureRegistryCIDRs 127.0.0.0/8).
 */
export function isInsecureRegistry(host: string, insecure: readonly string[]): boolean {
  const hostname = stripPort(host);
  if (hostname === 'localhost' || hostname === '::1' || inCidr(hostname, '127.0.0.0/8')) return true;
  return insecure.some((entry) => entry === host || entry === hostname || (entry.includes('/') && inCidr(hostname, entry)));
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

function inCidr(address: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  if (isIP(address) !== 4 || isIP(base) !== 4) return false;
  const bits = Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(address) & mask) >>> 0 === (ipv4ToInt(base) & mask) >>> 0;
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** `https://localhost:5000/`, `localhost:5000`, `https://index.docker.io/v1/` -> the host to dial. */
export function normalizeServerAddress(address: string): string {
  const trimmed = address.trim().replace(/^[a-z]+:\/\//i, '');
  const host = trimmed.split('/')[0];
  return host === 'index.docker.io' || host === 'docker.io' || host === '' ? hubEndpoint : host;
}
