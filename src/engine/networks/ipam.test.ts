import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { containsAddress, parseCidr, parseIpv4 } from './cidr.ts';
import { Ipam } from './ipam.ts';

const net = 'n'.repeat(64);

function faultWith(kind: string, message: string) {
  return (err: unknown) => isFault(err) && err.kind === kind && err.message === message;
}

function ipamWith(subnet: string, gateway: string, ipRange?: string): Ipam {
  const ipam = new Ipam();
  ipam.addPool(net, { subnet, gateway, ...(ipRange ? { ipRange } : {}) });
  return ipam;
}

describe('Ipam', () => {
  test('hands out addresses in order after the gateway, skipping network, gateway and broadcast', () => {
    const ipam = ipamWith('10.0.0.0/29', '10.0.0.1');
    const got = [1, 2, 3, 4, 5].map(() => ipam.allocate(net));
    assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    assert.throws(() => ipam.allocate(net), faultWith('unavailable', 'no available addresses on this pool'));
    assert.deepEqual(ipam.inUse(net), got);
  });

  test('a freed address is not reused at once: allocation continues after the last one', () => {
    const ipam = ipamWith('10.0.0.0/24', '10.0.0.1');
    const a = ipam.allocate(net);
    ipam.allocate(net);
    ipam.release(net, a);
    assert.equal(ipam.allocate(net), '10.0.0.4');
  });

  test('wraps around to freed addresses once the end of the subnet is reached', () => {
    const ipam = ipamWith('10.0.0.0/29', '10.0.0.6');
    const got = [1, 2, 3, 4, 5].map(() => ipam.allocate(net));
    assert.deepEqual(got, ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
    ipam.release(net, '10.0.0.2');
    assert.equal(ipam.allocate(net), '10.0.0.2');
  });

  test('--ip takes exactly that address, in the subnet even outside the ip-range, or fails with moby words', () => {
    const ipam = ipamWith('10.1.0.0/16', '10.1.0.1', '10.1.5.0/24');
    assert.equal(ipam.allocate(net, { requested: '10.1.9.9' }), '10.1.9.9');
    assert.throws(() => ipam.allocate(net, { requested: '10.1.9.9' }), faultWith('permission-denied', 'Address already in use'));
    assert.throws(() => ipam.allocate(net, { requested: '10.1.0.1' }), faultWith('permission-denied', 'Address already in use'));
    assert.throws(() => ipam.allocate(net, { requested: '10.1.0.0' }), faultWith('permission-denied', 'Address already in use'));
    assert.throws(() => ipam.allocate(net, { requested: '10.2.0.5' }), faultWith('invalid-argument', 'no configured subnet or ip-range contain the IP address 10.2.0.5'));
    assert.throws(() => ipam.allocate(net, { requested: '10.1.0.500' }), faultWith('invalid-argument', 'invalid IPv4 address: 10.1.0.500'));
    assert.equal(ipam.allocate(net), '10.1.5.0');
  });

  test('the previous address is reused when free, else the next free one is taken', () => {
    const ipam = ipamWith('10.0.0.0/24', '10.0.0.1');
    assert.equal(ipam.allocate(net, { preferred: '10.0.0.77' }), '10.0.0.77');
    assert.equal(ipam.allocate(net, { preferred: '10.0.0.77' }), '10.0.0.2');
    assert.equal(ipam.allocate(net, { preferred: '192.168.1.1' }), '10.0.0.3');
    assert.equal(ipam.allocate(net, { preferred: '10.0.0.1' }), '10.0.0.4');
  });

  test('pools are per network, and unknown networks or bad pools are refused', () => {
    const ipam = ipamWith('10.0.0.0/24', '10.0.0.1');
    ipam.addPool('other', { subnet: '10.0.0.0/24', gateway: '10.0.0.1' });
    assert.equal(ipam.allocate(net), '10.0.0.2');
    assert.equal(ipam.allocate('other'), '10.0.0.2');
    assert.throws(() => ipam.addPool(net, { subnet: '10.9.0.0/24', gateway: '10.9.0.1' }), (err) => isFault(err, 'already-exists'));
    ipam.removePool('other');
    assert.throws(() => ipam.allocate('other'), (err) => isFault(err, 'not-found'));
    assert.throws(() => ipam.addPool('x', { subnet: '10.0.0.0/24', gateway: '10.0.0.255' }), (err) => isFault(err, 'invalid-argument'));
    assert.throws(() => ipam.addPool('y', { subnet: '10.0.0.0/24', gateway: '10.0.1.1' }), (err) => isFault(err, 'invalid-argument'));
    ipam.release('unknown', '10.0.0.2');
    ipam.release(net, '10.0.0.99');
    assert.deepEqual(ipam.inUse(net), ['10.0.0.2']);
  });

  test('never hands out an address twice, never a reserved one, and a release makes it usable again', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('allocate' as const) }),
      fc.record({ kind: fc.constant('request' as const), host: fc.integer({ min: 0, max: 31 }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.constantFrom(undefined, '10.0.0.8/29'), (ops, ipRange) => {
        const ipam = ipamWith('10.0.0.0/27', '10.0.0.1', ipRange);
        const held = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'release') {
            const victim = [...held][o.pick % Math.max(held.size, 1)];
            if (victim) {
              ipam.release(net, victim);
              held.delete(victim);
              assert.equal(ipam.allocate(net, { requested: victim }), victim);
              ipam.release(net, victim);
            }
            continue;
          }
          const requested = o.kind === 'request' ? `10.0.0.${o.host}` : undefined;
          let got: string;
          try {
            got = ipam.allocate(net, requested ? { requested } : {});
          } catch (err) {
            assert.ok(isFault(err));
            if (requested) assert.ok(held.has(requested) || ['10.0.0.0', '10.0.0.1', '10.0.0.31'].includes(requested));
            else assert.ok(isFault(err, 'unavailable'));
            continue;
          }
          assert.ok(!held.has(got) && !['10.0.0.0', '10.0.0.1', '10.0.0.31'].includes(got), got);
          if (!requested && ipRange) assert.ok(containsAddress(parseCidr(ipRange)!, parseIpv4(got)!));
          held.add(got);
        }
        assert.deepEqual(new Set(ipam.inUse(net)), held);
      }),
    );
  });
});
