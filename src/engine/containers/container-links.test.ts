import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Fault } from '../../base/fault.ts';
import { checkLinksAllowed, findLinkTarget, linkEnv, linkHostsEntry, linkInspectEntry, parseLink, type LinkTarget } from './container-links.ts';

describe('parseLink', () => {
  test('name:alias, a bare name, and the stored /name:/parent/alias form read like moby opts.ParseLink', () => {
    assert.deepEqual(parseLink('web:db'), { name: 'web', alias: 'db' });
    assert.deepEqual(parseLink('web'), { name: 'web', alias: 'web' });
    assert.deepEqual(parseLink('/web:/me/db'), { name: 'web', alias: 'db' });
  });

  test('bad values are refused with moby\'s words', () => {
    assert.throws(() => parseLink(''), (e: unknown) => e instanceof Fault && e.kind === 'invalid-argument' && e.message === 'empty string specified for links');
    assert.throws(() => parseLink('a:b:c'), { message: 'bad format for links: a:b:c' });
  });
});

test('an unknown link target is the caller\'s mistake (400), named as moby does', () => {
  const lookup = (name: string) => {
    if (name === 'web') return { id: 'abc' };
    throw new Fault('not-found', `No such container: ${name}`);
  };
  assert.deepEqual(findLinkTarget('web', lookup), { id: 'abc' });
  assert.throws(() => findLinkTarget('ghost', lookup), (e: unknown) => {
    assert.ok(e instanceof Fault);
    assert.equal(e.kind, 'invalid-argument');
    assert.equal(e.message, 'could not get container for ghost: No such container: ghost');
    return true;
  });
  assert.throws(() => findLinkTarget('x', () => {
    throw new Error('disk on fire');
  }), { message: 'disk on fire' });
});

test('links conflict with host and container network modes, with moby\'s words', () => {
  checkLinksAllowed('bridge', ['web:db']);
  checkLinksAllowed('host', []);
  assert.throws(() => checkLinksAllowed('host', ['web']), {
    message: "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
  });
  assert.throws(() => checkLinksAllowed('container:abc', ['web']), {
    message: "conflicting options: container type network can't be used with links. This would result in undefined behavior",
  });
});

test('inspect shows a link as /child:/parent/alias', () => {
  assert.equal(linkInspectEntry('/web', 'me', 'db'), '/web:/me/db');
  assert.equal(linkInspectEntry('web', '/me', 'db'), '/web:/me/db');
});

const target = (over: Partial<LinkTarget>): LinkTarget => ({
  alias: 'docker',
  linkedName: '/redis',
  linkedHostname: '0123456789ab',
  ownName: '/db',
  ip: '172.0.17.2',
  exposedPorts: ['6379/tcp'],
  env: [],
  ...over,
});

describe('linkHostsEntry', () => {
  test('alias, the linked container\'s hostname, then its name unless the alias is the name', () => {
    assert.deepEqual(linkHostsEntry(target({})), { ip: '172.0.17.2', names: 'docker 0123456789ab redis' });
    assert.deepEqual(linkHostsEntry(target({ alias: 'redis' })), { ip: '172.0.17.2', names: 'redis 0123456789ab' });
  });
});

// The expectations below are moby's daemon/links/links_test.go (v28.0.0), literally.
describe('linkEnv', () => {
  test('naming: dashes become underscores (TestLinkNaming)', () => {
    assert.deepEqual(linkEnv(target({ alias: 'docker-1' })).sort(), [
      'DOCKER_1_NAME=/db/docker-1',
      'DOCKER_1_PORT=tcp://172.0.17.2:6379',
      'DOCKER_1_PORT_6379_TCP=tcp://172.0.17.2:6379',
      'DOCKER_1_PORT_6379_TCP_ADDR=172.0.17.2',
      'DOCKER_1_PORT_6379_TCP_PORT=6379',
      'DOCKER_1_PORT_6379_TCP_PROTO=tcp',
    ]);
  });

  test('the linked container\'s env, without HOME and PATH (TestLinkEnv)', () => {
    const env = linkEnv(target({ env: ['PASSWORD=gordon', 'HOME=/root', 'PATH=/bin', 'NOVALUE', 'EMPTY=', 'EQ=a=b'] }));
    assert.deepEqual(env.sort(), [
      'DOCKER_ENV_EMPTY=',
      'DOCKER_ENV_EQ=a=b',
      'DOCKER_ENV_PASSWORD=gordon',
      'DOCKER_NAME=/db/docker',
      'DOCKER_PORT=tcp://172.0.17.2:6379',
      'DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379',
      'DOCKER_PORT_6379_TCP_ADDR=172.0.17.2',
      'DOCKER_PORT_6379_TCP_PORT=6379',
      'DOCKER_PORT_6379_TCP_PROTO=tcp',
    ]);
  });

  test('TCP first, consecutive ports of one protocol as a range (TestLinkMultipleEnv)', () => {
    const env = linkEnv(target({ env: ['PASSWORD=gordon'], exposedPorts: ['6300/udp', '6382/udp', '6381/tcp', '6379/tcp', '6380/tcp'] }));
    assert.deepEqual(env.sort(), [
      'DOCKER_ENV_PASSWORD=gordon',
      'DOCKER_NAME=/db/docker',
      'DOCKER_PORT=tcp://172.0.17.2:6379',
      'DOCKER_PORT_6300_UDP=udp://172.0.17.2:6300',
      'DOCKER_PORT_6300_UDP_ADDR=172.0.17.2',
      'DOCKER_PORT_6300_UDP_PORT=6300',
      'DOCKER_PORT_6300_UDP_PROTO=udp',
      'DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379',
      'DOCKER_PORT_6379_TCP_ADDR=172.0.17.2',
      'DOCKER_PORT_6379_TCP_END=tcp://172.0.17.2:6381',
      'DOCKER_PORT_6379_TCP_PORT=6379',
      'DOCKER_PORT_6379_TCP_PORT_END=6381',
      'DOCKER_PORT_6379_TCP_PORT_START=6379',
      'DOCKER_PORT_6379_TCP_PROTO=tcp',
      'DOCKER_PORT_6379_TCP_START=tcp://172.0.17.2:6379',
      'DOCKER_PORT_6380_TCP=tcp://172.0.17.2:6380',
      'DOCKER_PORT_6380_TCP_ADDR=172.0.17.2',
      'DOCKER_PORT_6380_TCP_PORT=6380',
      'DOCKER_PORT_6380_TCP_PROTO=tcp',
      'DOCKER_PORT_6381_TCP=tcp://172.0.17.2:6381',
      'DOCKER_PORT_6381_TCP_ADDR=172.0.17.2',
      'DOCKER_PORT_6381_TCP_PORT=6381',
      'DOCKER_PORT_6381_TCP_PROTO=tcp',
      'DOCKER_PORT_6382_UDP=udp://172.0.17.2:6382',
      'DOCKER_PORT_6382_UDP_ADDR=172.0.17.2',
      'DOCKER_PORT_6382_UDP_PORT=6382',
      'DOCKER_PORT_6382_UDP_PROTO=udp',
    ]);
  });

  test('the lowest port is TCP first, then other protocols by name (TestSortPorts), ranges end at a gap', () => {
    const env = linkEnv(target({ alias: 'x', exposedPorts: ['53/udp', '9/sctp', '10/sctp', '81/tcp', '80/tcp', '443/tcp'] }));
    assert.equal(env[0], 'X_PORT=tcp://172.0.17.2:80');
    assert.deepEqual(env.filter((e) => /_(START|END)=/.test(e)), [
      'X_PORT_80_TCP_START=tcp://172.0.17.2:80',
      'X_PORT_80_TCP_PORT_START=80',
      'X_PORT_80_TCP_END=tcp://172.0.17.2:81',
      'X_PORT_80_TCP_PORT_END=81',
      'X_PORT_9_SCTP_START=sctp://172.0.17.2:9',
      'X_PORT_9_SCTP_PORT_START=9',
      'X_PORT_9_SCTP_END=sctp://172.0.17.2:10',
      'X_PORT_9_SCTP_PORT_END=10',
    ]);
    assert.deepEqual(env.filter((e) => /_PROTO=/.test(e)).map((e) => e.split('_PROTO')[0]), ['X_PORT_80_TCP', 'X_PORT_81_TCP', 'X_PORT_443_TCP', 'X_PORT_9_SCTP', 'X_PORT_10_SCTP', 'X_PORT_53_UDP']);
  });

  test('no exposed ports: only the name and env', () => {
    assert.deepEqual(linkEnv(target({ exposedPorts: [], env: ['A=1'] })), ['DOCKER_NAME=/db/docker', 'DOCKER_ENV_A=1']);
  });
});
