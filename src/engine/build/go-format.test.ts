import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goDuration, goList, goQuote, goQuotedList, goQuoteRune } from './go-format.ts';

test('Go verbs as moby history lines use them', () => {
  assert.equal(goQuotedList(['/bin/sh', '-c', 'echo "hi"']), '["/bin/sh" "-c" "echo \\"hi\\""]');
  assert.equal(goList(['/data', '/x']), '[/data /x]');
  assert.equal(goQuote('a\u0007\u0000\u007fé\n'), '"a\\a\\x00\\x7fé\\n"');
  assert.deepEqual([0, 2, 3, 10, 65].map(goQuoteRune), ["'\\x00'", "'\\x02'", "'\\x03'", "'\\n'", "'A'"]);
  assert.deepEqual([0, 5e8, 1.5e9, 90e9, 3600e9, 1500].map(goDuration), ['0s', '500ms', '1.5s', '1m30s', '1h0m0s', '1.5µs']);
});
