/*
 * Small IPv4 arithmetic for IPAM and subnet picking. Addresses are unsigned 32-bit numbers so ranges compare and
 * step with plain arithmetic; every result goes through `>>> 0` because JavaScript's bit operators are signed.
 * (node:net's BlockList answers "is this address in that set" but cannot step, split or format prefixes.)
 */

/** An address with a prefix length, as written: `address` keeps host bits (`10.0.0.5/24`) so callers can insist on canonical form. */
export interface Ipv4Prefix {
  address: number;
  prefix: number;
}

const octet = /^(0|[1-9][0-9]{0,2})$/;

/** Parses a dotted quad strictly (Go's netip: no leading zeros, no shorthand); undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!octet.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function formatIpv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join('.');
}

/** Parses `a.b.c.d/n` (n in 0..32); undefined when it is not one. */
export function parseCidr(text: string): Ipv4Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]?)$/.test(bits) || Number(bits) > 32) return undefined;
  return { address, prefix: Number(bits) };
}

export function formatCidr(p: Ipv4Prefix): string {
  return `${formatIpv4(p.address)}/${p.prefix}`;
}

export function prefixMask(prefix: number): number {
  // `<< 32` is a no-op in JavaScript, so /0 is special.
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkAddress(p: Ipv4Prefix): number {
  return (p.address & prefixMask(p.prefix)) >>> 0;
}

export function broadcastAddress(p: Ipv4Prefix): number {
  return (networkAddress(p) | ~prefixMask(p.prefix)) >>> 0;
}

/** The same prefix with the host bits cleared (`10.0.0.5/24` -> `10.0.0.0/24`). */
export function canonicalPrefix(p: Ipv4Prefix): Ipv4Prefix {
  return { address: networkAddress(p), prefix: p.prefix };
}

export function isCanonical(p: Ipv4Prefix): boolean {
  return p.address === networkAddress(p);
}

/** How many addresses the prefix spans (2^32 for /0, so a number, not a 32-bit integer). */
export function prefixSize(p: Ipv4Prefix): number {
  return 2 ** (32 - p.prefix);
}

export function containsAddress(p: Ipv4Prefix, address: number): boolean {
  return ((address & prefixMask(p.prefix)) >>> 0) === networkAddress(p);
}

/** Whether `inner` lies wholly inside `outer`. */
export function containsPrefix(outer: Ipv4Prefix, inner: Ipv4Prefix): boolean {
  return inner.prefix >= outer.prefix && containsAddress(outer, inner.address);
}

export function prefixesOverlap(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const shorter = Math.min(a.prefix, b.prefix);
  const mask = prefixMask(shorter);
  return ((a.address & mask) >>> 0) === ((b.address & mask) >>> 0);
}

/** The n-th address of the prefix counting from its network address (0 = network); undefined past the end. */
export function nthAddress(p: Ipv4Prefix, n: number): number | undefined {
  if (!Number.isInteger(n) || n < 0 || n >= prefixSize(p)) return undefined;
  return networkAddress(p) + n;
}
