import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logSettings, normalizeLogConfig, parseSize } from './log-config.ts';

test('an empty type is json-file, as inspect shows it', () => {
  assert.deepEqual(normalizeLogConfig({ Type: '', Config: null }), { Type: 'json-file', Config: {} });
  assert.deepEqual(logSettings({ Type: '' }), { driver: 'json-file', maxSize: -1, maxFile: 1 });
});

test('json-file sizes are decimal (go-units FromHumanSize), local ones binary with moby defaults', () => {
  assert.deepEqual(logSettings({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3' } }), { driver: 'json-file', maxSize: 1000, maxFile: 3 });
  assert.equal(parseSize('1.5m', 1000), 1_500_000);
  assert.equal(parseSize('10MB', 1024), 10 * 1024 * 1024);
  assert.deepEqual(logSettings({ Type: 'local' }), { driver: 'local', maxSize: 20 * 1024 * 1024, maxFile: 5 });
  assert.deepEqual(logSettings({ Type: 'none', Config: { anything: 'x' } }), { driver: 'none', maxSize: -1, maxFile: 1 });
});

test("moby's texts for what it refuses", () => {
  const refused: [Record<string, string> | string, RegExp][] = [
    ['foo', /^error looking up logging plugin foo: plugin "foo" not found$/],
    ['syslog', /^error looking up logging plugin syslog: plugin "syslog" not found$/],
    [{ bogus: '1' }, /^unknown log opt 'bogus' for json-file log driver$/],
    [{ 'max-size': 'abc' }, /^failed to initialize logging driver: invalid size: 'abc'$/],
    [{ 'max-size': '0' }, /^failed to initialize logging driver: max-size must be a positive number$/],
    [{ 'max-file': '0' }, /^failed to initialize logging driver: max-file cannot be less than 1$/],
    [{ 'max-file': 'x' }, /^failed to initialize logging driver: strconv.Atoi: parsing "x": invalid syntax$/],
    [{ compress: 'true' }, /^failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set$/],
    [{ compress: 'maybe', 'max-size': '1k' }, /strconv.ParseBool: parsing "maybe": invalid syntax$/],
    [{ compress: 'true', 'max-size': '1k', 'max-file': '2' }, /compress=true is not supported by this engine/],
    [{ mode: 'foo' }, /^logger: logging mode not supported: foo$/],
    [{ tag: 'x' }, /log opt 'tag' of the json-file log driver is not supported by this engine/],
  ];
  for (const [input, pattern] of refused) {
    const config = typeof input === 'string' ? { Type: input } : { Type: 'json-file', Config: input };
    assert.throws(() => logSettings(config), (err: Error & { kind?: string }) => pattern.test(err.message) && err.kind === 'invalid-argument', JSON.stringify(input));
  }
  assert.throws(() => logSettings({ Type: 'local', Config: { bogus: '1' } }), /^Fault: unknown log opt 'bogus' for log driver local$/);
});
