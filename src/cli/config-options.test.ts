import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { configFromFlags } from './config-options.ts';

const wharfBin = resolve(import.meta.dirname, '../../bin/wharf');

test('--proxy-remote-url, --proxy-username and --proxy-password set registry.proxy, over the environment', () => {
  const env = { WHARF_REGISTRY_PROXY_REMOTEURL: 'http://env.example:5000', WHARF_REGISTRY_PROXY_TAGTTLSECONDS: '60' };
  const config = configFromFlags({ proxyRemoteUrl: 'https://registry-1.docker.io', proxyUsername: 'alice', proxyPassword: 's3cret' }, env);
  assert.equal(config.registry.proxy.remoteUrl, 'https://registry-1.docker.io');
  assert.equal(config.registry.proxy.username, 'alice');
  assert.equal(config.registry.proxy.password, 's3cret');
  assert.equal(config.registry.proxy.tagTtlSeconds, 60);
  assert.equal(configFromFlags({}, env).registry.proxy.remoteUrl, 'http://env.example:5000');
  assert.throws(() => configFromFlags({ proxyRemoteUrl: 'registry.example' }, {}), /registry\.proxy\.remoteUrl: expected the http or https URL/);
});

test('wharf serve and wharf registry serve take the --proxy-* flags', async () => {
  for (const command of [['serve'], ['registry', 'serve']]) {
    const { stdout } = await promisify(execFile)(wharfBin, [...command, '--help']);
    for (const flag of ['--proxy-remote-url <url>', '--proxy-username <user>', '--proxy-password <password>']) assert.ok(stdout.includes(flag), `${command.join(' ')}: ${flag}`);
  }
});
