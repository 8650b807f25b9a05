import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runDocker, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

// `docker build` with the real CLI, which falls back to the legacy builder API (POST /build) without buildx;
// DOCKER_BUILDKIT=0 makes that choice explicit and keeps its deprecation notice predictable.
describe('docker build', () => {
  let engine: TestEngine;
  let context: string;
  const build = (args: string[]) => runDocker(['build', ...args], { ...engine.env, DOCKER_BUILDKIT: '0' });

  before(async () => {
    engine = await startTestEngineWithBusybox(['--change', 'CMD ["sh"]']);
    context = join(engine.root, 'context');
    mkdirSync(join(context, 'site'), { recursive: true });
    writeFileSync(join(context, 'greeting.txt'), 'hello from the context\n');
    writeFileSync(join(context, 'site', 'index.html'), '<p>site</p>\n');
    writeFileSync(
      join(context, 'Dockerfile'),
      [
        '# a comment, then every kind of step',
        'ARG BASE=busybox',
        'FROM ${BASE}',
        'ARG FLAVOUR=plain',
        'ENV APP_HOME=/srv/app \\',
        '    MODE=test',
        'WORKDIR $APP_HOME',
        'COPY greeting.txt ./',
        'COPY site /srv/www',
        'RUN echo "built with $FLAVOUR" > flavour.txt && echo step output',
        'LABEL org.example.kind="demo app"',
        'EXPOSE 8080',
        'CMD ["sh", "-c", "cat greeting.txt flavour.txt /srv/www/index.html; echo $MODE"]',
        '',
      ].join('\n'),
    );
  });
  after(() => engine?.close());

  test('a Dockerfile with ARG, ENV, WORKDIR, COPY, RUN, LABEL, EXPOSE and CMD builds an image that runs', async () => {
    const result = await build(['-t', 'demo:v1', '--build-arg', 'FLAVOUR=spicy', context]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /Step 1\/11 : ARG BASE=busybox/);
    assert.match(result.stdout, /Step 2\/11 : FROM \$\{BASE\}\n ---> [a-f0-9]{12}\n/);
    assert.match(result.stdout, /step output/);
    assert.match(result.stdout, /Successfully built [a-f0-9]{12}\nSuccessfully tagged demo:v1/);
    const run = await engine.docker(['run', '--rm', 'demo:v1']);
    assert.equal(run.stdout, 'hello from the context\nbuilt with spicy\n<p>site</p>\ntest\n');
    const inspect = await engine.docker(['image', 'inspect', '-f', '{{.Config.WorkingDir}} {{index .Config.Labels "org.example.kind"}} {{len .RootFS.Layers}}', 'demo:v1']);
    assert.equal(inspect.stdout.trim(), '/srv/app demo app 4');
    const history = await engine.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'demo:v1']);
    assert.match(history.stdout.split('\n')[0], /#\(nop\)\s+CMD/);
    assert.doesNotMatch((await engine.docker(['images', '--format', '{{.Repository}}'])).stdout, /<none>/, 'intermediate images are not left dangling');
  });

  test('HEALTHCHECK goes into the image and a container of it is checked', async () => {
    writeFileSync(join(context, 'Health.Dockerfile'), 'FROM busybox\nHEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD test -e /tmp\nCMD ["sleep", "30"]\n');
    const built = await build(['-q', '-t', 'checked:v1', '-f', join(context, 'Health.Dockerfile'), context]);
    assert.equal(built.code, 0, built.stderr);
    const health = await engine.docker(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', 'checked:v1']);
    assert.deepEqual(JSON.parse(health.stdout), { Test: ['CMD-SHELL', 'test -e /tmp'], Interval: 1e9, Timeout: 2e9, Retries: 2 });
    const id = (await engine.docker(['run', '-d', 'checked:v1'])).stdout.trim();
    let status = '';
    for (let i = 0; i < 50 && status !== 'healthy'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await engine.docker(['inspect', '-f', '{{.State.Health.Status}}', id])).stdout.trim();
    }
    assert.equal(status, 'healthy');
    await engine.docker(['rm', '-f', id]);
  });

  test('a failing RUN stops the build with moby’s message; -q prints only the ID; bad Dockerfiles are refused', async () => {
    writeFileSync(join(context, 'Failing.Dockerfile'), 'FROM busybox\nRUN exit 3\n');
    const failing = await build(['-f', join(context, 'Failing.Dockerfile'), context]);
    assert.notEqual(failing.code, 0);
    assert.match(failing.stderr + failing.stdout, /The command '\/bin\/sh -c exit 3' returned a non-zero code: 3/);
    assert.equal((await engine.docker(['ps', '-aq'])).stdout, '', 'the failed step’s container is removed');
    writeFileSync(join(context, 'Quiet.Dockerfile'), 'FROM busybox\nENV QUIET=1\n');
    const quiet = await build(['-q', '-f', join(context, 'Quiet.Dockerfile'), context]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stdout.trim(), /^sha256:[a-f0-9]{64}$/);
    writeFileSync(join(context, 'Escape.Dockerfile'), 'FROM busybox\nCOPY ../../etc/passwd /x\n');
    const escape = await build(['-f', join(context, 'Escape.Dockerfile'), context]);
    assert.notEqual(escape.code, 0);
    assert.match(escape.stderr + escape.stdout, /file not found in build context|outside the build context/);
    writeFileSync(join(context, 'Multi.Dockerfile'), 'FROM busybox AS one\nFROM busybox\n');
    const multi = await build(['-f', join(context, 'Multi.Dockerfile'), context]);
    assert.match(multi.stderr + multi.stdout, /multi-stage builds are not supported by this engine yet/);
  });
});
