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
