import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema, loadConfig } from './config.ts';
import { isFault } from './fault.ts';
import { validateMirror } from './registry-mirror.ts';

test('a mirror is stored as dockerd stores it: the URL as given with one trailing slash', () => {
  assert.equal(validateMirror('http://127.0.0.1:5000'), 'http://127.0.0.1:5000/');
  assert.equal(validateMirror('https://mirror.example.com/'), 'https://mirror.example.com/');
  assert.equal(validateMirror('https://[::1]:8443'), 'https://[::1]:8443/');
  assert.equal(validateMirror('HTTPS://Mirror.Example.com'), 'HTTPS://Mirror.Example.com/');
});

test('bad mirrors are refused with moby’s wording, naming the mirror', () => {
  const cases: [string, string][] = [
    ['127.0.0.1:5000', `invalid mirror: no scheme specified for "127.0.0.1:5000": must use either 'https://' or 'http://'`],
    ['mirror.example.com', `invalid mirror: no scheme specified for "mirror.example.com": must use either 'https://' or 'http://'`],
    ['://mirror', `invalid mirror: no scheme specified for "://mirror": must use either 'https://' or 'http://'`],
    ['ftp://mirror.example.com', `invalid mirror: unsupported scheme "ftp" in "ftp://mirror.example.com": must use either 'https://' or 'http://'`],
    ['http://mirror.example.com/v2/', 'invalid mirror: path, query, or fragment at end of the URI "http://mirror.example.com/v2/"'],
    ['http://mirror.example.com?x=1', 'invalid mirror: path, query, or fragment at end of the URI "http://mirror.example.com?x=1"'],
    ['http://mirror.example.com/#top', 'invalid mirror: path, query, or fragment at end of the URI "http://mirror.example.com/#top"'],
    ['http://bob:secret@mirror.example.com', 'invalid mirror: username/password not allowed in URI "http://bob:xxxxx@mirror.example.com"'],
    ['http://exa mple.com', 'invalid mirror: "http://exa mple.com" is not a valid URI'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => validateMirror(input), (err) => isFault(err, 'invalid-argument') && err.message === message, input);
  }
});

test('engine.registryMirrors is normalised in the config and a bad one stops the start, named by its path', () => {
  const config = configSchema.parse({ engine: { registryMirrors: ['http://127.0.0.1:5000', 'https://m.example.com/'] } });
  assert.deepEqual(config.engine.registryMirrors, ['http://127.0.0.1:5000/', 'https://m.example.com/']);
  assert.deepEqual(configSchema.parse({}).engine.registryMirrors, []);
  assert.throws(
    () => loadConfig({ overrides: { engine: { registryMirrors: ['https://ok.example.com', 'localhost:5000'] } } }),
    (err) =>
      isFault(err, 'invalid-argument') &&
      err.message ===
        `invalid configuration: engine.registryMirrors.1: invalid mirror: no scheme specified for "localhost:5000": must use either 'https://' or 'http://'`,
  );
});

test('WHARF_ENGINE_REGISTRYMIRRORS takes a JSON list', () => {
  const config = loadConfig({ env: { WHARF_ENGINE_REGISTRYMIRRORS: '["http://127.0.0.1:5001"]' } });
  assert.deepEqual(config.engine.registryMirrors, ['http://127.0.0.1:5001/']);
});
