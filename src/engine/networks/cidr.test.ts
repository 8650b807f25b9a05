import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  broadcastAddress,
  canonicalPrefix,
  containsAddress,
  containsPrefix,
  formatCidr,
  formatIpv4,
  type Ipv4Prefix,
  isCanonical,
  networkAddress,
  nthAddress,
  parseCidr,
  parseIpv4,
  prefixesOverlap,
  prefixMask,
  prefixSize,
} from './cidr.ts';

const address = fc.integer({ min: 0, max: 0xffffffff });
const prefix = fc.record({ address, prefix: fc.integer({ min: 0, max: 32 }) });

describe('IPv4 helpers', () => {
  test('dotted quads round-trip through numbers', () => {
    fc.assert(fc.property(address, (a) => parseIpv4(formatIpv4(a)) === a));
    assert.equal(parseIpv4('172.17.0.1'), 0xac110001);
    assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
  });

  test('malformed addresses are refused, as Go netip refuses them', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', '1..3.4', 'a.b.c.d', '1.2.3.4/8', '::1']) {
      assert.equal(parseIpv4(bad), undefined, bad);
    }
  });

  test('CIDRs parse with their host bits kept and print back as written', () => {
    assert.deepEqual(parseCidr('10.1.2.3/8'), { address: 0x0a010203, prefix: 8 });
    fc.assert(fc.property(prefix, (p) => assert.deepEqual(parseCidr(formatCidr(p)), { address: p.address, prefix: p.prefix })));
    for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/08', '10.0.0/8', '10.0.0.0/8/8', 'foo/8', '10.0.0.0/-1']) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  test('network and broadcast bound the prefix and contain exactly its addresses', () => {
    const p = parseCidr('172.17.5.9/16') as Ipv4Prefix;
    assert.equal(formatIpv4(networkAddress(p)), '172.17.0.0');
    assert.equal(formatIpv4(broadcastAddress(p)), '172.17.255.255');
    assert.equal(formatCidr(canonicalPrefix(p)), '172.17.0.0/16');
    assert.equal(isCanonical(p), false);
    assert.equal(prefixSize(p), 65536);
    assert.equal(prefixMask(0), 0);
    assert.equal(prefixMask(32), 0xffffffff);
    fc.assert(
      fc.property(prefix, address, (p, a) => {
        const inside = a >= networkAddress(p) && a <= broadcastAddress(p);
        return containsAddress(p, a) === inside && broadcastAddress(p) - networkAddress(p) + 1 === prefixSize(p);
      }),
    );
  });

  test('two prefixes overlap exactly when one contains the other', () => {
    fc.assert(
      fc.property(prefix, prefix, (a, b) => {
        const overlap = prefixesOverlap(a, b);
        const shareAddress = Math.max(networkAddress(a), networkAddress(b)) <= Math.min(broadcastAddress(a), broadcastAddress(b));
        return overlap === shareAddress && overlap === (containsPrefix(a, b) || containsPrefix(b, a)) && overlap === prefixesOverlap(b, a);
      }),
    );
  });

  test('the n-th address counts from the network address and stops at the broadcast', () => {
    const p = parseCidr('192.168.0.0/30') as Ipv4Prefix;
    assert.equal(formatIpv4(nthAddress(p, 1) as number), '192.168.0.1');
    assert.equal(formatIpv4(nthAddress(p, 3) as number), '192.168.0.3');
    assert.equal(nthAddress(p, 4), undefined);
    assert.equal(nthAddress(p, -1), undefined);
    assert.equal(nthAddress({ address: 0, prefix: 0 }, 0xffffffff), 0xffffffff);
  });
});
