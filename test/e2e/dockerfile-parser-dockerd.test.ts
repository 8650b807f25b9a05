import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isFault } from '../../src/base/fault.ts';
import { parseDockerfile } from '../../src/engine/build/dockerfile-parser.ts';
import { type Dockerd, dockerCli, startDockerd } from '../support/dockerd.ts';
import { run } from '../support/run.ts';

// Odd Dockerfiles that need no image and run no container (FROM scratch, config-only steps), so dockerd 20.10's
// classic builder prints every step: its "Step i/n : …" text and its errors are what the parser must give.
const printed = [
  'from scratch\n  env  A   "b c"  \nlabel x=1   y="2 3"\t\nONBUILD   run echo hi   \nexpose 80 \\\n  # c\n\n  90\nSTOPSIGNAL 9\n',
  '# escape=`\nFROM scratch\nLABEL a=b `\n  c=d\nCMD ["a", "b"] c d\nENTRYPOINT []\nVOLUME ["/a", "/b"]\n',
  'ARG V=1\nFROM scratch AS Build\nMaintainer  Jane <j@x>\nHEALTHCHECK --interval=5s CMD ["true"]\nSHELL ["/bin/sh", "-c"]\nUSER 1:1\n',
];

const refused = [
  'FROM scratch\nFOO bar\n',
  'LABEL a=b\nFROM scratch\n',
  'FROM scratch\nENV =x\n',
  'FROM scratch\nENV x\n',
  'FROM scratch\nCMD ["a", 1]\n',
  '\n\n# only\n',
  'FROM scratch\nRUN --network=host a\n',
  'FROM scratch AS 1a\n',
  'FROM scratch\nONBUILD onbuild run x\n',
  'FROM scratch\nCOPY --chown 1 a b\n',
  '# escape=x\nFROM scratch\n',
];

describe('the Dockerfile parser against dockerd 20.10 (classic builder)', () => {
  let dockerd: Dockerd;
  const build = (dockerfile: string) =>
    run(dockerCli, ['build', '--no-cache', '-'], { env: { ...dockerd.env, DOCKER_BUILDKIT: '0' }, input: dockerfile, timeoutMs: 60_000 });

  before(async () => {
    dockerd = await startDockerd();
  });

  after(async () => {
    await dockerd?.stop();
  });

  test('prints each step as dockerd does, with its warnings', async () => {
    for (const dockerfile of printed) {
      const result = await build(dockerfile);
      assert.equal(result.code, 0, result.stderr);
      const file = parseDockerfile(dockerfile);
      const originals = [...file.metaArgs, ...file.stages.flatMap((s) => [s.from, ...s.instructions])].map((i) => i.original);
      // dockerd writes its warnings into the same stream, in red: \x1b[91m…\x1b[0m.
      const stdout = result.stdout.replace(/\x1b\[\d+m/g, '');
      const stepLines = stdout.split(/[\r\n]+/).filter((line) => line.startsWith('Step '));
      assert.deepEqual(stepLines, originals.map((text, i) => `Step ${i + 1}/${originals.length} : ${text}`));
      for (const warning of file.warnings.filter((w) => !w.includes('syntax'))) assert.ok(stdout.includes(warning), stdout);
    }
  });

  test('stores ONBUILD triggers as dockerd does', async () => {
    const dockerfile = printed[0];
    const id = /Successfully built ([0-9a-f]+)/.exec((await build(dockerfile)).stdout)?.[1];
    assert.ok(id);
    const stored = JSON.parse(await dockerd.dockerOk(['image', 'inspect', '--format', '{{json .Config.OnBuild}}', id]));
    const triggers = parseDockerfile(dockerfile).stages[0].instructions.flatMap((i) => (i.trigger ? [i.trigger.original] : []));
    assert.deepEqual(stored, triggers);
  });

  test("refuses what dockerd refuses, in dockerd's words", async () => {
    for (const dockerfile of refused) {
      const result = await build(dockerfile);
      assert.notEqual(result.code, 0);
      let message = '';
      try {
        parseDockerfile(dockerfile);
      } catch (err) {
        assert.ok(isFault(err, 'invalid-argument'));
        message = err.message;
      }
      assert.ok(message, `the parser accepted ${JSON.stringify(dockerfile)}`);
      assert.equal(result.stderr.trim().split('\n').at(-1), `Error response from daemon: ${message}`, JSON.stringify(dockerfile));
    }
  });
});
