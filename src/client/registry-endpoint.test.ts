import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isInsecureRegistry, normalizeServerAddress, registryHost } from './registry-endpoint.ts';

test('loopback registries are insecure by default, like moby', () => {
  assert.equal(isInsecureRegistry('localhost:5000', []), true);
  assert.equal(isInsecureRegistry('127.0.0.1:5000', []), true);
  assert.equal(isInsecureRegistry('registry.example:5000', []), false);
});

test('listed hosts and CIDRs are insecure', () => {
  assert.equal(isInsecureRegistry('registry.example:5000', ['registry.example:5000']), true);
  assert.equal(isInsecureRegistry('10.1.2.3:5000', ['10.0.0.0/8']), true);
  assert.equal(isInsecureRegistry('11.1.2.3:5000', ['10.0.0.0/8']), false);
});

test('server addresses from docker login are reduced to a host', () => {
  assert.equal(normalizeServerAddress('https://localhost:5000/'), 'localhost:5000');
  assert.equal(normalizeServerAddress('https://index.docker.io/v1/'), 'registry-1.docker.io');
  assert.equal(registryHost('docker.io'), 'registry-1.docker.io');
});
