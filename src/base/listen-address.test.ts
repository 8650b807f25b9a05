import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHostPort, parseListenAddress } from './listen-address.ts';

test('an address with host and port parses', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
});

test('an address without host binds loopback, not every interface', () => {
  assert.deepEqual(parseListenAddress(':5000'), { host: '127.0.0.1', port: 5000 });
});

test('malformed addresses are refused', () => {
  for (const bad of ['5000', 'host', '1.2.3.4:99999', '1.2.3.4:x']) {
    assert.throws(() => parseListenAddress(bad), /invalid listen address/);
  }
});

test('host and port join as Go joins them: an IPv6 host in brackets', () => {
  assert.equal(formatHostPort('127.0.0.1', 5000), '127.0.0.1:5000');
  assert.equal(formatHostPort('::1', 0), '[::1]:0');
  assert.equal(formatHostPort('registry.local', '443'), 'registry.local:443');
  for (const addr of ['127.0.0.1:5000', '[::1]:5000']) {
    const { host, port } = parseListenAddress(addr);
    assert.equal(formatHostPort(host, port), addr, 'parse and format round-trip');
  }
});
