import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { exposedPortKeys, networkSettingsPorts, portRequests, psPorts } from './port-bindings.ts';

function faultWith(kind: string, message: string) {
  return (err: unknown) => isFault(err) && err.kind === kind && err.message === message;
}

describe('portRequests', () => {
  test('turns -p HOST:CTR, -p IP:HOST:CTR, -p CTR, ranges and udp into requests', () => {
    const requests = portRequests({
      portBindings: {
        '80/tcp': [{ HostIp: '', HostPort: '8080' }],
        '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '8443' }, { HostIp: '0.0.0.0', HostPort: '' }],
        '53/udp': [{ HostIp: '', HostPort: '5353' }],
        '9000/tcp': [{ HostIp: '', HostPort: '9000-9010' }],
        '7000/tcp': [{}],
      },
      exposedPorts: { '80/tcp': {} },
    });
    assert.deepEqual(requests, [
      { protocol: 'udp', hostIp: '', hostPortRange: [5353, 5353], containerPort: 53 },
      { protocol: 'tcp', hostIp: '', hostPortRange: [8080, 8080], containerPort: 80 },
      { protocol: 'tcp', hostIp: '127.0.0.1', hostPortRange: [8443, 8443], containerPort: 443 },
      { protocol: 'tcp', hostIp: '', hostPortRange: undefined, containerPort: 443 },
      { protocol: 'tcp', hostIp: '', hostPortRange: undefined, containerPort: 7000 },
      { protocol: 'tcp', hostIp: '', hostPortRange: [9000, 9010], containerPort: 9000 },
    ]);
  });

  test('-P publishes every exposed port without a binding on an ephemeral port', () => {
    const config = {
      portBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      exposedPorts: { '80/tcp': {}, '53/udp': {}, '8000-8001/tcp': {} },
      publishAllPorts: true,
    };
    assert.deepEqual(portRequests(config), [
      { protocol: 'udp', hostIp: '', hostPortRange: undefined, containerPort: 53 },
      { protocol: 'tcp', hostIp: '', hostPortRange: [8080, 8080], containerPort: 80 },
      { protocol: 'tcp', hostIp: '', hostPortRange: undefined, containerPort: 8000 },
      { protocol: 'tcp', hostIp: '', hostPortRange: undefined, containerPort: 8001 },
    ]);
    assert.deepEqual(portRequests({ ...config, publishAllPorts: false }).length, 1);
    assert.deepEqual(exposedPortKeys(config), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  });

  test('keys without a protocol or in upper case are dockerd keys', () => {
    assert.deepEqual(exposedPortKeys({ portBindings: { '80': [{ HostPort: '1' }], '81/TCP': null } }), ['80/tcp', '81/tcp']);
    assert.deepEqual(portRequests({ portBindings: { '80': [{ HostPort: '0' }] } }), [{ protocol: 'tcp', hostIp: '', hostPortRange: undefined, containerPort: 80 }]);
    assert.deepEqual(portRequests({}), []);
    assert.deepEqual(portRequests({ portBindings: null, exposedPorts: null }), []);
  });

  test('bad specs get moby words', () => {
    const cases: [Record<string, { HostIp?: string; HostPort?: string }[]>, string, string][] = [
      [{ '65536/tcp': [{}] }, 'invalid-argument', 'invalid port specification: "65536"'],
      [{ '0/tcp': [{}] }, 'invalid-argument', 'invalid port specification: "0"'],
      [{ 'abc/tcp': [{}] }, 'invalid-argument', 'invalid port specification: "abc"'],
      [{ '80-81/tcp': [{}] }, 'invalid-argument', 'invalid port specification: "80-81"'],
      [{ '80/tcp': [{ HostPort: '65536' }] }, 'invalid-argument', 'invalid port specification: "65536"'],
      [{ '80/tcp': [{ HostPort: '9010-9000' }] }, 'invalid-argument', 'invalid port specification: "9010-9000"'],
      [{ '80/tcp': [{ HostPort: '0-100' }] }, 'invalid-argument', 'invalid port specification: "0-100"'],
      [{ '80/tcp': [{ HostPort: 'x' }] }, 'invalid-argument', 'invalid port specification: "x"'],
      [{ '80/tcp': [{ HostPort: '-1' }] }, 'invalid-argument', 'invalid port specification: "-1"'],
      [{ '80/foo': [{}] }, 'invalid-argument', 'invalid proto: foo'],
      [{ '80/tcp': [{ HostIp: '1.2.3' }] }, 'invalid-argument', 'invalid IP address: 1.2.3'],
      [{ '80/tcp': [{ HostIp: '::' }] }, 'not-implemented', 'publishing on an IPv6 host address is not supported: ::'],
      [{ '80/sctp': [{}] }, 'not-implemented', 'publishing sctp ports is not supported: 80/sctp'],
    ];
    for (const [portBindings, kind, message] of cases) {
      assert.throws(() => portRequests({ portBindings }), faultWith(kind, message), message);
    }
    assert.throws(() => portRequests({ exposedPorts: { '99999/tcp': {} } }), faultWith('invalid-argument', 'invalid port specification: "99999"'));
    // An exposed sctp port that is not published is only listed.
    assert.deepEqual(portRequests({ exposedPorts: { '80/sctp': {} } }), []);
  });

  test('every valid binding yields a request within 1..65535 whose range is ordered', () => {
    const port = fc.integer({ min: 1, max: 65535 });
    const hostPort = fc.oneof(fc.constant(''), port.map(String), fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
    fc.assert(
      fc.property(fc.dictionary(port.map(String), fc.array(fc.record({ HostPort: hostPort }), { maxLength: 3 }), { maxKeys: 5 }), (bindings) => {
        for (const r of portRequests({ portBindings: bindings })) {
          assert.ok(r.containerPort >= 1 && r.containerPort <= 65535);
          if (r.hostPortRange) assert.ok(r.hostPortRange[0] >= 1 && r.hostPortRange[0] <= r.hostPortRange[1] && r.hostPortRange[1] <= 65535);
        }
      }),
    );
  });
});

describe('port views', () => {
  const mappings = [
    { protocol: 'tcp' as const, hostIp: '', hostPort: 8080, containerPort: 80 },
    { protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 32768, containerPort: 80 },
    { protocol: 'udp' as const, hostIp: '', hostPort: 5353, containerPort: 53 },
  ];

  test('NetworkSettings.Ports lists published ports with bindings and exposed ones with null', () => {
    assert.deepEqual(networkSettingsPorts(['53/udp', '80/tcp', '443/tcp'], mappings), {
      '53/udp': [{ HostIp: '0.0.0.0', HostPort: '5353' }],
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '127.0.0.1', HostPort: '32768' },
      ],
      '443/tcp': null,
    });
  });

  test('docker ps Ports has one entry per binding and a bare one per exposed-only port', () => {
    assert.deepEqual(psPorts(networkSettingsPorts(['53/udp', '80/tcp', '443/tcp'], mappings)), [
      { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 32768, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
    ]);
  });
});
