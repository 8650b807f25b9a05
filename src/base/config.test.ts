import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFault } from './fault.ts';
import { loadConfig } from './config.ts';

test('the default bridge device is wharf0 and may be set to another name', () => {
  assert.equal(loadConfig().engine.network.bridge, 'wharf0');
  assert.equal(loadConfig({ env: { WHARF_ENGINE_NETWORK_BRIDGE: 'wharf1' } }).engine.network.bridge, 'wharf1');
});

test('docker0 is refused as the default bridge device, with the reason', () => {
  assert.throws(
    () => loadConfig({ overrides: { engine: { network: { bridge: 'docker0' } } } }),
    (err) => isFault(err, 'invalid-argument') && /engine\.network\.bridge: engine\.network\.bridge must not be docker0: that is dockerd's bridge/.test(err.message),
  );
});

test('an unknown key anywhere in the config file stops the start and is named with its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-config-'));
  try {
    const file = join(dir, 'wharf.yaml');
    writeFileSync(file, 'registry:\n  adr: 127.0.0.1:5000\nauth:\n  mdoe: token\n  acl:\n    - match: {acount: bob}\n      actions: ["*"]\nlogging: {}\n');
    assert.throws(
      () => loadConfig({ file }),
      (err) =>
        isFault(err, 'invalid-argument') &&
        err.message.startsWith(`invalid configuration in ${file}: `) &&
        ['unknown key registry.adr', 'unknown key auth.mdoe', 'unknown key auth.acl.0.match.acount', 'unknown key logging'].every((part) => err.message.includes(part)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry.metrics.path must be an absolute path outside the registry\'s own routes', () => {
  assert.equal(loadConfig({ overrides: { registry: { metrics: { path: '/debug/metrics' } } } }).registry.metrics.path, '/debug/metrics');
  for (const path of ['metrics', '/v2/metrics', '/v1', '/auth/metrics', '/', '/health', '/a b']) {
    assert.throws(() => loadConfig({ overrides: { registry: { metrics: { path } } } }), /registry\.metrics\.path/, path);
  }
});

test('registry.proxy defaults to no upstream, a 300 s tag check and a 7-day expiry', () => {
  assert.deepEqual(loadConfig().registry.proxy, { remoteUrl: '', username: '', password: '', upstreams: [], tagTtlSeconds: 300, expiry: { unusedDays: 7 } });
  const upstream = loadConfig({ overrides: { registry: { proxy: { upstreams: [{ prefix: 'hub/', url: 'https://registry-1.docker.io' }] } } } }).registry.proxy.upstreams[0];
  assert.deepEqual(upstream, { prefix: 'hub/', url: 'https://registry-1.docker.io', username: '', password: '', caFile: '' });
});

test('registry.proxy refuses what would leave an upstream ambiguous or unreachable, naming the key', () => {
  const refused: [unknown, RegExp][] = [
    [{ remoteUrl: 'ftp://mirror.example' }, /registry\.proxy\.remoteUrl: expected the http or https URL/],
    [{ remoteUrl: 'https://mirror.example/v2/' }, /registry\.proxy\.remoteUrl: .*no path/],
    [{ upstreams: [{ prefix: 'hub', url: 'https://a.example' }] }, /registry\.proxy\.upstreams\.0\.prefix: expected '' or repository path components each ending in '\/'/],
    [{ upstreams: [{ prefix: 'Hub/', url: 'https://a.example' }] }, /registry\.proxy\.upstreams\.0\.prefix/],
    [{ upstreams: [{ prefix: 'a//', url: 'https://a.example' }] }, /registry\.proxy\.upstreams\.0\.prefix/],
    [{ upstreams: [{ prefix: 'hub/', url: 'https://a.example' }, { prefix: 'hub/', url: 'https://b.example' }] }, /two upstreams have the prefix 'hub\/'/],
    [{ remoteUrl: 'https://a.example', upstreams: [{ prefix: '', url: 'https://b.example' }] }, /registry\.proxy\.remoteUrl and registry\.proxy\.upstreams with prefix '' both name the default upstream/],
    [{ username: 'alice' }, /registry\.proxy\.username and password are the credentials of registry\.proxy\.remoteUrl, which is not set/],
    [{ upstreams: [{ prefix: 'a/', url: 'http://a.example', caFile: '/etc/ca.pem' }] }, /registry\.proxy\.upstreams\.0\.caFile: a CA file is for an https upstream; this url is plain http$/],
    [{ upstreams: [{ prefix: 'a/', url: 'https://a.example', password: 'secret' }] }, /registry\.proxy\.upstreams\.0\.password: a password is sent only with a username, which is not set$/],
    [{ remoteUrl: 'https://a.example', password: 'secret' }, /: registry\.proxy\.password: a password is sent only with a username, which is not set$/],
  ];
  for (const [proxy, message] of refused) {
    assert.throws(() => loadConfig({ overrides: { registry: { proxy } } as never }), (err) => isFault(err, 'invalid-argument') && message.test(err.message), JSON.stringify(proxy));
  }
  const ok = loadConfig({ overrides: { registry: { proxy: { upstreams: [{ prefix: 'quay/team-a/', url: 'http://127.0.0.1:5000/' }, { prefix: '', url: 'https://b.example' }] } } } });
  assert.deepEqual(ok.registry.proxy.upstreams.map((u) => u.prefix), ['quay/team-a/', '']);
});
