import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../base/config.ts';
import { realmFor } from './realm.ts';

test('the realm comes from auth.token.realm, then registry.publicUrl, then the request', () => {
  const base = loadConfig();
  assert.equal(realmFor(base, { host: 'reg.example:5000' }), 'http://reg.example:5000/auth/token');
  assert.equal(realmFor(base, { host: 'reg.example', secure: true }), 'https://reg.example/auth/token');
  assert.equal(realmFor(loadConfig({ overrides: { registry: { publicUrl: 'https://hub.example/' } } }), { host: 'x' }), 'https://hub.example/auth/token');
  assert.equal(realmFor(loadConfig({ overrides: { auth: { token: { realm: 'https://auth.example/token' } } } }), { host: 'x' }), 'https://auth.example/token');
  assert.equal(realmFor(loadConfig({ overrides: { registry: { tls: { cert: 'c', key: 'k' } } } }), { host: 'x:1' }), 'https://x:1/auth/token');
});

test('a Host that is not a plain host[:port] is never echoed', () => {
  const config = loadConfig({ overrides: { registry: { addr: '0.0.0.0:5000' } } });
  for (const host of ['evil",error="x', 'a b', 'a/b', '', 'x'.repeat(300), 'host:port']) {
    assert.equal(realmFor(config, { host }), 'http://127.0.0.1:5000/auth/token', host);
  }
  assert.equal(realmFor(config, {}), 'http://127.0.0.1:5000/auth/token');
});
