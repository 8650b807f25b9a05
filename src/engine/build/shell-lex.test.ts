import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { expandWord, expandWords } from './shell-lex.ts';

const env = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
  ['SPACE', 'abc  def'],
  ['LEADING', '  ab c'],
]);

describe('expandWord (moby ProcessWord)', () => {
  const cases: [string, string][] = [
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he\\'llo", "he'llo"],
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ['"abc\\\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['"hel\'lo"', "hel'lo"],
    ["'hello\\'", 'hello\\'],
    ['"\'\'"', "''"],
    ['$.', '$.'],
    ['he$1x', 'hex'],
    ['he$.x', 'he$.x'],
    ['he$PWD', 'he/home'],
    ['he\\$PWD', 'he$PWD'],
    ['he\\\\$PWD', 'he\\/home'],
    ['"he\\$PWD"', 'he$PWD'],
    ['"he\\\\$PWD"', 'he\\/home'],
    ["'he$PWD'", 'he$PWD'],
    ['he${PWD}x', 'he/homex'],
    ['he${PWDX}x', 'hex'],
    ['$KOREAN', '한국어'],
    ['${XXX:-def}', 'def'],
    ['${NULL:-def}', 'def'],
    ['${PWD:-def}', '/home'],
    ['${XXX-def}', 'def'],
    ['${NULL-def}', ''],
    ['${XXX:+alt}', ''],
    ['${NULL:+alt}', ''],
    ['${PWD:+alt}', 'alt'],
    ['${XXX+alt}', ''],
    ['${NULL+alt}', 'alt'],
    ['${PWD?}', '/home'],
    ['${NULL?}', ''],
    ['${PWD:?msg}', '/home'],
    ['${XXX:-${PWD:+"a b"}}', 'a b'],
    ['${XXX:-\'${PWD}\'}', '${PWD}'],
    ['$', '$'],
    ['a$', 'a$'],
    ['${?}', ''],
    ['$@x', 'x'],
  ];
  for (const [word, want] of cases) {
    it(`expands ${word} to ${want}`, () => assert.equal(expandWord(word, env), want));
  }

  const errors: [string, string][] = [
    ["he'llo", 'unexpected end of statement while looking for matching single-quote'],
    ['"hello', 'unexpected end of statement while looking for matching double-quote'],
    ['"hello\\"', 'unexpected end of statement while looking for matching double-quote'],
    ['${', "syntax error: missing '}'"],
    ['${}', 'syntax error: bad substitution'],
    ['${:x}', 'syntax error: bad substitution'],
    ['${PWD:-x', "syntax error: missing '}'"],
    ['${PWD#x}', "missing ':' in substitution"],
    ['${PWD:x}', 'unsupported modifier (x) in substitution'],
    ['${XXX?}', 'XXX: is not allowed to be unset'],
    ['${XXX?gone}', 'XXX: gone'],
    ['${NULL:?}', 'NULL: is not allowed to be empty'],
    ['${NULL:?empty!}', 'NULL: empty!'],
    ['${XXX:?}', 'XXX: is not allowed to be unset'],
  ];
  for (const [word, message] of errors) {
    it(`refuses ${word} with moby's words`, () => {
      assert.throws(
        () => expandWord(word, env),
        (err: unknown) => isFault(err, 'invalid-argument') && err.message === `failed to process ${JSON.stringify(word)}: ${message}`,
      );
    });
  }

  it('uses the backtick as the escape char when the Dockerfile says so', () => {
    assert.equal(expandWord('a`$PWD`\\b', env, '`'), 'a$PWD\\b');
    assert.equal(expandWord('"a`"b"', env, '`'), 'a"b');
    assert.equal(expandWord('c:\\dir\\$PWD', env, '`'), 'c:\\dir\\/home');
  });

  it('leaves a word without $, quotes or escape chars as it is', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !/[$'"\\]/.test(s)), (word) => {
        assert.equal(expandWord(word, env), word);
      }),
    );
  });

  it('throws nothing but a Fault, whatever the word', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[-a-z${}:+?'"\\ `#%/]*$/), (word) => {
        try {
          expandWord(word, env);
          expandWords(word, env);
        } catch (err) {
          assert.ok(isFault(err, 'invalid-argument'), String(err));
        }
      }),
    );
  });
});

describe('expandWords (moby ProcessWords)', () => {
  const cases: [string, string[]][] = [
    ['hello', ['hello']],
    ['hello${hi}bye', ['hellobye']],
    ['hello${SPACE}bye', ['helloabc', 'defbye']],
    ['hello"${SPACE}"bye', ['helloabc  defbye']],
    ['hello "${SPACE}"bye', ['hello', 'abc  defbye']],
    ['hello${LEADING}def', ['hello', 'ab', 'cdef']],
    ['hello"${LEADING}" def', ['hello  ab c', 'def']],
    ['  a   b\\ c  ', ['a', 'b c']],
    ['a "" b', ['a', 'b']],
    ["'a b' c", ['a b', 'c']],
    ['', []],
  ];
  for (const [text, want] of cases) {
    it(`splits ${JSON.stringify(text)} into ${JSON.stringify(want)}`, () => assert.deepEqual(expandWords(text, env), want));
  }
});
