import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { loadConfig } from './config.ts';

test('the default bridge device is wharf0 and may be set to another name', () => {
  assert.equal(loadConfig().engine.network.bridge, 'wharf0');
  assert.equal(loadConfig({ env: { WHARF_ENGINE_NETWORK_BRIDGE: 'wharf1' } }).engine.network.bridge, 'wharf1');
});

test('docker0 is refused as the default bridge device, with the reason', () => {
  assert.throws(
    () => loadConfig({ overrides: { engine: { network: { bridge: 'docker0' } } } }),
    (err) => err instanceof z.ZodError && err.issues.some((issue) => issue.path.join('.') === 'engine.network.bridge' && /must not be docker0: that is dockerd's bridge/.test(issue.message)),
  );
});
