import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { argPairs, type Dockerfile, nameValues, parseDockerfile, parseInstruction } from './dockerfile-parser.ts';
import { expandWord } from './shell-lex.ts';

const steps = (file: Dockerfile) => [
  ...file.metaArgs.map((i) => i.original),
  ...file.stages.flatMap((s) => [s.from.original, ...s.instructions.map((i) => i.original)]),
];

function refuses(text: string, message: string): void {
  assert.throws(
    () => parseDockerfile(text),
    (err: unknown) => isFault(err, 'invalid-argument') && err.message === message,
    `expected: ${message}`,
  );
}

describe('parseDockerfile', () => {
  it('reads keywords in any case and keeps the line as moby prints it', () => {
    const file = parseDockerfile('from busybox\n  env  A   "b c"  \nexpose 80 \\\n  # a comment\n  90\nMaintainer  Jane <j@x>\n');
    assert.deepEqual(steps(file), ['from busybox', 'env  A   "b c"', 'expose 80   90', 'Maintainer  Jane <j@x>']);
    const [env, expose, maintainer] = file.stages[0].instructions;
    assert.deepEqual([env.keyword, env.args, env.line], ['ENV', 'A   "b c"', 2]);
    assert.deepEqual([expose.keyword, expose.args, expose.line], ['EXPOSE', '80   90', 3]);
    assert.deepEqual([maintainer.keyword, maintainer.line], ['MAINTAINER', 6]);
    assert.deepEqual(file.warnings, []);
    assert.equal(file.escape, '\\');
  });

  it('warns about empty continuation lines as moby does', () => {
    const file = parseDockerfile('FROM a\nRUN a \\\n\n# c\n  b\n');
    assert.equal(file.stages[0].instructions[0].original, 'RUN a   b');
    assert.deepEqual(file.warnings, [
      '[WARNING]: Empty continuation line found in:\n    RUN a   b',
      '[WARNING]: Empty continuation lines will become errors in a future release.',
    ]);
  });

  it('takes the escape directive for continuations, and ignores syntax with a warning', () => {
    const file = parseDockerfile('# escape=`\n# syntax=docker/dockerfile:1\nFROM a\nRUN dir c:\\ `\n  && echo\n');
    assert.equal(file.escape, '`');
    assert.equal(file.stages[0].instructions[0].args, 'dir c:\\   && echo');
    assert.match(file.warnings[0], /syntax parser directive \(docker\/dockerfile:1\) is ignored/);
  });

  it('reads directives only before any other line', () => {
    assert.equal(parseDockerfile('#escape = `\nFROM a\n').escape, '`');
    assert.equal(parseDockerfile('# comment\n# escape=`\nFROM a\n').escape, '\\');
    assert.equal(parseDockerfile('\n# escape=`\nFROM a\n').escape, '\\');
    assert.equal(parseDockerfile('FROM a\n# escape=`\n').escape, '\\');
    assert.equal(parseDockerfile('\uFEFF# escape=`\r\nFROM a\r\nLABEL a=b `\r\n c=d\r\n').stages[0].instructions[0].original, 'LABEL a=b  c=d');
    refuses('# escape=`\n# escape=`\nFROM a\n', 'failed to parse Dockerfile: only one escape parser directive can be used');
    refuses('# escape=x\nFROM a\n', "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\");
  });

  it('joins a continuation at the end of the file and an escaped escape char is no continuation', () => {
    const file = parseDockerfile('FROM a\nRUN echo \\\\\nRUN b \\');
    assert.deepEqual(steps(file).slice(1), ['RUN echo \\\\', 'RUN b']);
  });

  it('tells the exec form from the shell form as moby does', () => {
    const file = parseDockerfile(
      [
        'FROM a',
        'CMD ["a", "b"] trailing',
        "CMD ['a']",
        'CMD ["a", "b"',
        'ENTRYPOINT []',
        'COPY ["a b", "/c"]',
        'COPY a b /c/',
        'HEALTHCHECK --interval=5s CMD ["true"]',
        'HEALTHCHECK CMD true',
        'EXPOSE ["80"]',
      ].join('\n'),
    );
    const json = file.stages[0].instructions.map((i) => i.json);
    assert.deepEqual(json, [['a', 'b'], undefined, undefined, [], ['a b', '/c'], undefined, ['true'], undefined, undefined]);
    assert.equal(file.stages[0].instructions[6].args, 'CMD ["true"]');
    refuses('FROM a\nCMD ["a", 1]\n', 'failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only');
  });

  it('reads flags before the arguments and checks them per keyword', () => {
    const file = parseDockerfile(
      'FROM --platform=linux/amd64 a AS Build\nCOPY --from=build --chown="1:1" --link a b\nCOPY --link=false -- --x b\nADD --chmod=644 a b\n',
    );
    const [copy, copy2, add] = file.stages[0].instructions;
    assert.deepEqual(copy.flags, { from: 'build', chown: '1:1', link: 'true' });
    assert.deepEqual([copy.args, copy2.flags, copy2.args], ['a b', { link: 'false' }, '--x b']);
    assert.deepEqual(add.flags, { chmod: '644' });
    assert.deepEqual(file.stages[0].platform, 'linux/amd64');
    refuses('FROM a\nCOPY --chown 1 a b\n', 'dockerfile parse error line 2: Missing a value on flag: chown');
    refuses('FROM a\nCOPY --chown=1 --chown=2 a b\n', 'dockerfile parse error line 2: Duplicate flag specified: chown');
    refuses('FROM a\nADD --from=x a b\n', 'dockerfile parse error line 2: Unknown flag: from');
    refuses('FROM a\nCOPY --link=yes a b\n', 'dockerfile parse error line 2: Expecting boolean value for flag link, not: yes');
    refuses('FROM a\nRUN --network=host a\n', 'dockerfile parse error line 2: Unknown flag: network');
    refuses('FROM a\nSTOPSIGNAL --x=1 9\n', 'dockerfile parse error line 2: Unknown flag: x');
    refuses(
      'FROM a\nRUN --mount=type=cache,target=/x a\n',
      'the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled',
    );
  });

  it('groups stages and keeps ARGs before the first FROM as meta args', () => {
    const file = parseDockerfile('ARG V=1\narg B\nFROM busybox:$V AS Build-1.x\nRUN a\nFROM scratch\nCOPY --from=build-1.x /a /a\n');
    assert.deepEqual(
      file.metaArgs.map((a) => a.original),
      ['ARG V=1', 'arg B'],
    );
    assert.deepEqual(
      file.stages.map((s) => [s.index, s.name, s.base, s.instructions.length]),
      [
        [0, 'build-1.x', 'busybox:$V', 1],
        [1, undefined, 'scratch', 1],
      ],
    );
    refuses('LABEL a=b\nFROM a\n', 'no build stage in current context');
    refuses('FROM a AS 1a\n', 'dockerfile parse error line 1: invalid name for build stage: "1a", name can\'t start with a number or contain symbols');
    refuses('FROM a AS b:c\n', 'dockerfile parse error line 1: invalid name for build stage: "b:c", name can\'t start with a number or contain symbols');
    refuses('FROM a b\n', 'dockerfile parse error line 1: FROM requires either one or three arguments');
  });

  it('keeps ONBUILD triggers as moby stores them and refuses the forbidden ones', () => {
    const file = parseDockerfile('FROM a\nONBUILD   run echo hi   \nonbuild COPY --chown=1 a b\nONBUILD FOO bar\n');
    const [run, copy, foo] = file.stages[0].instructions.map((i) => i.trigger);
    assert.deepEqual([run?.keyword, run?.args, run?.original], ['RUN', 'echo hi', 'run echo hi   ']);
    assert.equal(file.stages[0].instructions[0].original, 'ONBUILD   run echo hi');
    assert.deepEqual([copy?.keyword, copy?.flags, copy?.args], ['COPY', { chown: '1' }, 'a b']);
    assert.equal(foo?.keyword, 'FOO');
    refuses('FROM a\nONBUILD onbuild run x\n', 'dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    refuses('FROM a\nONBUILD FROM x\n', "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger");
    refuses('FROM a\nONBUILD maintainer x\n', "dockerfile parse error line 2: MAINTAINER isn't allowed as an ONBUILD trigger");
    refuses('FROM a\nONBUILD\n', 'dockerfile parse error line 2: ONBUILD requires at least one argument');
  });

  it("refuses bad instructions with moby's words", () => {
    refuses('', 'the Dockerfile (Dockerfile) cannot be empty');
    refuses('\n\n# only a comment\n', 'failed to parse Dockerfile: file with no instructions');
    refuses('FROM a\nFOO bar\n', 'dockerfile parse error line 2: unknown instruction: FOO');
    refuses('FROM a\nENV =x\n', 'dockerfile parse error line 2: ENV names can not be blank');
    refuses('FROM a\nENV x\n', 'failed to parse Dockerfile: ENV must have two arguments');
    refuses('FROM a\nLABEL a=b c\n', 'failed to parse Dockerfile: Syntax error - can\'t find = in "c". Must be of the form: name=value');
    refuses('FROM a\nARG\n', 'dockerfile parse error line 2: ARG requires at least one argument');
    refuses('FROM a\nARG =x\n', 'dockerfile parse error line 2: ARG names can not be blank');
    refuses('FROM a\nMAINTAINER\n', 'dockerfile parse error line 2: MAINTAINER requires exactly one argument');
    refuses('FROM a\nWORKDIR\n', 'dockerfile parse error line 2: WORKDIR requires exactly one argument');
    refuses('FROM a\nCOPY a\n', 'dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined');
    refuses('FROM a\nSHELL sh -c\n', 'dockerfile parse error line 2: SHELL requires the arguments to be in JSON form');
    refuses('FROM a\nVOLUME [""]\n', 'dockerfile parse error line 2: VOLUME specified can not be an empty string');
    refuses('FROM a\nEXPOSE\n', 'dockerfile parse error line 2: EXPOSE requires at least one argument');
    refuses('FROM a\nHEALTHCHECK NONE x\n', 'dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments');
    refuses('FROM a\nHEALTHCHECK CMD\n', 'dockerfile parse error line 2: Missing command after HEALTHCHECK CMD');
    refuses('FROM a\nHEALTHCHECK RUN x\n', 'dockerfile parse error line 2: Unknown type "RUN" in HEALTHCHECK (try CMD)');
    refuses(`FROM a\nRUN ${'x'.repeat(70_000)}\n`, 'failed to parse Dockerfile: dockerfile line greater than max allowed size of 65535');
  });

  it('reports the first error in file order, and line-syntax errors before instruction errors', () => {
    refuses('LABEL a=b\nFOO\n', 'no build stage in current context');
    refuses('FOO\nFROM a\nENV x\n', 'failed to parse Dockerfile: ENV must have two arguments');
  });

  it('names the Dockerfile it was given in first-phase errors', () => {
    assert.throws(() => parseDockerfile('# x\n', 'sub/Dockerfile.dev'), { message: 'failed to parse sub/Dockerfile.dev: file with no instructions' });
  });

  it('throws nothing but a Fault, whatever the text', () => {
    const line = fc.stringMatching(/^[ \t#a-zA-Z=\\`"'[\],{}$:\-]{0,30}$/);
    const keyword = fc.constantFrom('FROM a', 'RUN', 'ENV', 'LABEL', 'ARG', 'COPY', 'ONBUILD', 'HEALTHCHECK', 'FROM', 'SHELL', 'CMD', '# escape=`', '');
    fc.assert(
      fc.property(fc.array(fc.tuple(keyword, line), { maxLength: 6 }), (lines) => {
        const text = lines.map(([k, l]) => `${k} ${l}`).join('\n');
        for (const parse of [() => parseDockerfile(text), () => parseInstruction(text)]) {
          try {
            parse();
          } catch (err) {
            assert.ok(isFault(err, 'invalid-argument'), String(err));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('nameValues', () => {
  const env = new Map([['X', 'x']]);
  const pairs = (line: string, escape = '\\') => {
    const file = parseDockerfile(`${escape === '`' ? '# escape=`\n' : ''}FROM a\n${line}\n`);
    const inst = file.stages[0].instructions[0];
    return nameValues(inst, escape).map(([k, v]) => [expandWord(k, env, escape), expandWord(v, env, escape)]);
  };

  it('reads the old `K V` form: the rest of the line is the value', () => {
    assert.deepEqual(pairs('ENV A   "b c"  d $X'), [['A', 'b c  d x']]);
    assert.deepEqual(pairs('LABEL x y=1 z'), [['x', 'y=1 z']]);
  });

  it('reads the `K=V …` form with quotes and escapes kept until expansion', () => {
    assert.deepEqual(pairs('ENV a="b c" d=e\\ f g=\'$X\' h=$X'), [
      ['a', 'b c'],
      ['d', 'e f'],
      ['g', '$X'],
      ['h', 'x'],
    ]);
    assert.deepEqual(pairs('LABEL "a b"=\'c d\' e\\ f=g\\ h'), [
      ['a b', 'c d'],
      ['e f', 'g h'],
    ]);
    assert.deepEqual(pairs('ENV a=b` c', '`'), [['a', 'b c']]);
  });

  it('gives ARG names with and without defaults', () => {
    const file = parseDockerfile('ARG a b= c=d "e=f g"\nFROM x\n');
    assert.deepEqual(argPairs(file.metaArgs[0], '\\'), [{ name: 'a' }, { name: 'b', value: '' }, { name: 'c', value: 'd' }, { name: '"e', value: 'f g"' }]);
    assert.deepEqual(nameValues(file.metaArgs[0], '\\')[0], ['a', '']);
  });
});

describe('parseInstruction', () => {
  it('parses a stored trigger on its own', () => {
    const inst = parseInstruction('COPY --chown=1:1 ["a", "b"]');
    assert.deepEqual([inst.keyword, inst.flags, inst.json, inst.original], ['COPY', { chown: '1:1' }, ['a', 'b'], 'COPY --chown=1:1 ["a", "b"]']);
  });

  it("refuses as moby's child build does, without a line", () => {
    assert.throws(() => parseInstruction('FOO bar'), { message: 'unknown instruction: FOO' });
    assert.throws(() => parseInstruction('ENV x'), { message: 'ENV must have two arguments' });
    assert.throws(() => parseInstruction('FROM x'), { message: '*instructions.Stage is not a command type' });
    assert.throws(() => parseInstruction('RUN a\nRUN b'), { message: 'onbuild trigger should be a single expression' });
  });
});
