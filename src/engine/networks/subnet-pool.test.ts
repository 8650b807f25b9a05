import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { parseCidr, prefixesOverlap } from './cidr.ts';
import { configSchema } from '../../base/config.ts';
import { checkNoOverlap, checkPool, checkUsableSubnet, defaultGateway, hostRoutes, parseRouteTable, pickSubnet, validateSubnetRequest } from './subnet-pool.ts';

/** The engine's default pools are dockerd's default-address-pools. */
const dockerdPools = configSchema.parse({}).engine.network.addressPools;


function faultWith(kind: string, message: string) {
  return (err: unknown) => isFault(err) && err.kind === kind && err.message === message;
}

describe('pickSubnet', () => {
  test('takes the first /size of the first pool when nothing is taken', () => {
    assert.deepEqual(pickSubnet(dockerdPools, []), { subnet: '172.17.0.0/16', gateway: '172.17.0.1' });
  });

  test('skips subnets that overlap host routes or other networks, whatever their size', () => {
    assert.deepEqual(pickSubnet(dockerdPools, ['172.17.0.0/16', '172.18.3.0/24']), { subnet: '172.19.0.0/16', gateway: '172.19.0.1' });
    assert.deepEqual(pickSubnet(dockerdPools, ['172.16.0.0/12', '192.168.0.0/20']), { subnet: '192.168.16.0/20', gateway: '192.168.16.1' });
    assert.deepEqual(pickSubnet(dockerdPools, ['0.0.0.0/1', '172.20.0.0/16']), { subnet: '172.17.0.0/16', gateway: '172.17.0.1' });
    assert.deepEqual(pickSubnet(dockerdPools, ['172.17.0.0/16', '172.18.0.0/15', '172.20.0.0/16']), { subnet: '172.21.0.0/16', gateway: '172.21.0.1' });
    assert.deepEqual(pickSubnet([{ base: '10.0.0.0/8', size: 24 }], ['10.0.0.0/9']), { subnet: '10.128.0.0/24', gateway: '10.128.0.1' });
  });

  test('says what dockerd 28 says when every pool is used up', () => {
    assert.throws(
      () => pickSubnet(dockerdPools, ['172.16.0.0/12', '192.168.0.0/16']),
      faultWith('invalid-argument', 'all predefined address pools have been fully subnetted'),
    );
    assert.throws(() => pickSubnet([], []), faultWith('invalid-argument', 'all predefined address pools have been fully subnetted'));
  });

  test('a picked subnet lies in a pool, is aligned to its size and overlaps nothing taken', () => {
    const taken = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 8, max: 30 })).map(([a, p]) => `${[a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.')}/${p}`),
      { maxLength: 12 },
    );
    const pools = [
      { base: '10.0.0.0/8', size: 12 },
      { base: '172.16.0.0/12', size: 16 },
    ];
    fc.assert(
      fc.property(taken, (blocked) => {
        let choice: { subnet: string; gateway: string };
        try {
          choice = pickSubnet(pools, blocked);
        } catch (err) {
          // Exhaustion is fine only if every candidate really is blocked.
          assert.ok(isFault(err, 'invalid-argument'));
          for (let i = 0; i < 16; i++) assert.ok(blocked.some((b) => prefixesOverlap(parseCidr(b)!, parseCidr(`10.${i * 16}.0.0/12`)!)));
          return;
        }
        const subnet = parseCidr(choice.subnet)!;
        assert.ok(pools.some((p) => prefixesOverlap(parseCidr(p.base)!, subnet) && parseCidr(p.base)!.prefix <= subnet.prefix));
        assert.ok(blocked.every((b) => !prefixesOverlap(parseCidr(b)!, subnet)));
        // First fit: every earlier candidate of the first pool was blocked.
        if (subnet.address >>> 24 === 10) {
          for (let i = 0; i < ((subnet.address >>> 20) & 15); i++) assert.ok(blocked.some((b) => prefixesOverlap(parseCidr(b)!, parseCidr(`10.${i * 16}.0.0/12`)!)));
        }
      }),
    );
  });

  test('refuses a pool that is not canonical or splits into bigger blocks than itself', () => {
    assert.throws(() => checkPool({ base: '10.0.0.1/8', size: 16 }), /not in canonical form \(10\.0\.0\.0\/8\)/);
    assert.throws(() => checkPool({ base: '10.0.0.0/16', size: 8 }), /smaller prefix \(\/16\) than the target size of that pool \(\/8\)/);
    assert.throws(() => checkPool({ base: '10.0.0.0', size: 8 }), /invalid address pool base 10\.0\.0\.0: invalid CIDR block notation/);
  });
});

describe('validateSubnetRequest', () => {
  test('accepts a subnet with a gateway and an ip-range inside it', () => {
    validateSubnetRequest({ subnet: '10.10.0.0/16', gateway: '10.10.0.254', ipRange: '10.10.5.0/24' });
    validateSubnetRequest({ subnet: '10.10.0.0/16' });
    validateSubnetRequest({ subnet: '10.10.0.0/16', gateway: '', ipRange: '' });
  });

  test('answers bad input with the daemon words of moby ValidateIPAM', () => {
    const cases: [Parameters<typeof validateSubnetRequest>[0], string][] = [
      [{ subnet: '10.10.0.0/33' }, 'invalid subnet 10.10.0.0/33: invalid CIDR block notation'],
      [{ subnet: 'foo' }, 'invalid subnet foo: invalid CIDR block notation'],
      [{ subnet: '10.10.1.0/16' }, 'invalid subnet 10.10.1.0/16: it should be 10.10.0.0/16'],
      [{ subnet: '10.10.0.0/16', gateway: '10.11.0.1' }, "invalid gateway 10.11.0.1: parent subnet 10.10.0.0/16 doesn't contain this address"],
      [{ subnet: '10.10.0.0/16', gateway: 'x' }, 'invalid gateway x: invalid address'],
      [{ subnet: '10.10.0.0/16', ipRange: '10.11.0.0/24' }, "invalid ip-range 10.11.0.0/24: parent subnet 10.10.0.0/16 doesn't contain ip-range"],
      [{ subnet: '10.10.0.0/16', ipRange: '10.0.0.0/8' }, 'invalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.10.0.0/16'],
      [{ subnet: '10.10.0.0/16', ipRange: 'bad' }, 'invalid ip-range bad: invalid CIDR block notation'],
    ];
    for (const [request, message] of cases) {
      assert.throws(() => validateSubnetRequest(request), faultWith('invalid-argument', `invalid network config:\n${message}`), message);
    }
  });

  test('lists every problem when there are several', () => {
    assert.throws(
      () => validateSubnetRequest({ subnet: '10.10.0.0/16', gateway: '10.11.0.1', ipRange: '10.12.0.1/24' }),
      faultWith(
        'invalid-argument',
        "invalid network config:\n* invalid ip-range 10.12.0.1/24: it should be 10.12.0.0/24\n* invalid ip-range 10.12.0.1/24: parent subnet 10.10.0.0/16 doesn't contain ip-range\n* invalid gateway 10.11.0.1: parent subnet 10.10.0.0/16 doesn't contain this address",
      ),
    );
  });

  test('refuses a subnet that overlaps an existing network as moby does (403)', () => {
    checkNoOverlap('10.10.0.0/16', ['10.11.0.0/16', '172.17.0.0/16']);
    for (const existing of ['10.10.0.0/16', '10.0.0.0/8', '10.10.200.0/24']) {
      assert.throws(() => checkNoOverlap('10.10.0.0/16', [existing]), faultWith('permission-denied', 'invalid pool request: Pool overlaps with other one on this address space'));
    }
  });

  test('refuses /0 and subnets overlapping this-network, loopback, link-local, multicast and reserved (400)', () => {
    for (const ok of ['10.0.0.0/8', '1.0.0.0/8', '126.0.0.0/8', '128.0.0.0/8', '169.253.0.0/16', '169.255.0.0/16', '223.255.255.0/24', '192.168.0.0/16']) {
      checkUsableSubnet(ok);
    }
    assert.throws(() => checkUsableSubnet('0.0.0.0/0'), faultWith('invalid-argument', 'invalid subnet 0.0.0.0/0: a network cannot span every address'));
    const refused: [string, string][] = [
      ['0.0.0.0/8', '0.0.0.0/8 ("this network")'],
      ['0.1.2.0/24', '0.0.0.0/8 ("this network")'],
      ['127.0.0.0/8', '127.0.0.0/8 (loopback)'],
      ['127.5.0.0/16', '127.0.0.0/8 (loopback)'],
      ['64.0.0.0/2', '127.0.0.0/8 (loopback)'],
      ['169.254.0.0/16', '169.254.0.0/16 (link-local)'],
      ['169.254.169.0/24', '169.254.0.0/16 (link-local)'],
      ['224.0.0.0/4', '224.0.0.0/3 (multicast and reserved)'],
      ['240.0.0.0/4', '224.0.0.0/3 (multicast and reserved)'],
      ['255.255.255.255/32', '224.0.0.0/3 (multicast and reserved)'],
      ['192.0.0.0/2', '224.0.0.0/3 (multicast and reserved)'],
    ];
    for (const [subnet, block] of refused) {
      assert.throws(() => checkUsableSubnet(subnet), faultWith('invalid-argument', `invalid subnet ${subnet}: it overlaps ${block}, which no network may use`), subnet);
    }
  });

  test('the default gateway is the first host of the subnet, or of the ip-range when one is given', () => {
    assert.equal(defaultGateway({ subnet: '10.10.0.0/16' }), '10.10.0.1');
    assert.equal(defaultGateway({ subnet: '10.10.0.0/16', ipRange: '10.10.5.0/24' }), '10.10.5.0');
    assert.equal(defaultGateway({ subnet: '10.10.0.0/16', ipRange: '10.10.0.0/24' }), '10.10.0.1');
    assert.equal(defaultGateway({ subnet: '10.10.0.0/31' }), '10.10.0.0');
  });
});

describe('host routes', () => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'tun0\t0000080A\t0100080A\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'lo\t0100007F\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
    // `ip route add unreachable 198.51.100.0/24`
    '*\t006433C6\t00000000\t0201\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    // a duplicate line (another metric) is one route
    'eth0\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0',
    '',
  ].join('\n');

  test('parses /proc/net/route into routes without the default route; on-link = no gateway, not a reject route', () => {
    assert.deepEqual(parseRouteTable(table), [
      { subnet: '192.0.2.0/24', device: 'eth0', onLink: true },
      { subnet: '172.17.0.0/16', device: 'docker0', onLink: true },
      { subnet: '10.8.0.0/16', device: 'tun0', onLink: false },
      { subnet: '127.0.0.1/32', device: 'lo', onLink: true },
      { subnet: '198.51.100.0/24', device: '*', onLink: false },
    ]);
    assert.deepEqual(parseRouteTable(''), []);
  });

  test('reads the table from a file, and this host has one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-routes-'));
    try {
      await writeFile(join(dir, 'route'), table);
      assert.deepEqual(await hostRoutes(join(dir, 'route')), parseRouteTable(table));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const routes = await hostRoutes();
    assert.ok(routes.every((r) => parseCidr(r.subnet) !== undefined && r.subnet !== '0.0.0.0/0' && r.device !== ''));
  });
});
