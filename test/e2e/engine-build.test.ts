import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { detectCgroups } from '../../src/engine/containers/cgroups.ts';
import { runDocker, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

// `docker build` with the real CLI, which falls back to the legacy builder API (POST /build) without buildx;
// DOCKER_BUILDKIT=0 makes that choice explicit and keeps its deprecation notice predictable.
describe('docker build', () => {
  let engine: TestEngine;
  let context: string;
  const build = (args: string[], input?: string) => runDocker(['build', ...args], { ...engine.env, DOCKER_BUILDKIT: '0' }, { input, timeoutMs: 180_000 });

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
    // busybox's layer, WORKDIR (the directory was missing), two COPYs and RUN: moby's layers for this file.
    assert.equal(inspect.stdout.trim(), '/srv/app demo app 5');
    const history = await engine.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'demo:v1']);
    assert.match(history.stdout.split('\n')[0], /#\(nop\)\s+CMD/);
    assert.doesNotMatch((await engine.docker(['images', '--format', '{{.Repository}}'])).stdout, /<none>/, 'intermediate images are hidden');
    assert.match((await engine.docker(['images', '-a', '--format', '{{.Repository}}'])).stdout, /<none>/, 'intermediate images are kept for the cache');
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
    // moby keeps a failed step's container unless --force-rm.
    const kept = (await engine.docker(['ps', '-aq'])).stdout.trim();
    assert.match(kept, /^[a-f0-9]{12}$/, 'the failed step’s container is kept, as moby keeps it');
    assert.match(failing.stdout, new RegExp(` ---> Running in ${kept}\n`));
    await engine.docker(['rm', kept]);
    const forced = await build(['--force-rm', '-f', join(context, 'Failing.Dockerfile'), context]);
    assert.notEqual(forced.code, 0);
    assert.match(forced.stdout, /Removing intermediate container [a-f0-9]{12}\n/);
    assert.equal((await engine.docker(['ps', '-aq'])).stdout, '', '--force-rm removes it');
    writeFileSync(join(context, 'Quiet.Dockerfile'), 'FROM busybox\nENV QUIET=1\n');
    const quiet = await build(['-q', '-f', join(context, 'Quiet.Dockerfile'), context]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stdout.trim(), /^sha256:[a-f0-9]{64}$/);
    writeFileSync(join(context, 'Escape.Dockerfile'), 'FROM busybox\nCOPY ../../etc/passwd /x\n');
    const escape = await build(['-f', join(context, 'Escape.Dockerfile'), context]);
    assert.notEqual(escape.code, 0);
    assert.match(escape.stderr + escape.stdout, /file not found in build context|outside the build context/);
    writeFileSync(join(context, 'Squash.Dockerfile'), 'FROM busybox\n');
    // The CLI refuses --squash itself against a daemon without experimental features: ask the API directly.
    const squash = await postBuild(engine.socket, '/build?squash=1');
    assert.deepEqual(squash, { status: 400, message: 'squash is only supported with experimental mode' });
    const platform = await build(['--platform', 'windows/amd64', '-f', join(context, 'Squash.Dockerfile'), context]);
    assert.match(platform.stderr, /unsupported os windows/);
    const target = await build(['--target', 'nowhere', '-f', join(context, 'Squash.Dockerfile'), context]);
    assert.match(target.stderr, /failed to reach build target nowhere in Dockerfile/);
  });
  test('the layer cache: a rebuild uses it, a changed source rebuilds from its step on, --no-cache ignores it', async () => {
    const dir = join(engine.root, 'cache-context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'one\n');
    writeFileSync(join(dir, 'b.txt'), 'two\n');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nENV MODE=cached\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy.txt\nCOPY b.txt /b.txt\nRUN echo done\n');
    const first = await build(['-t', 'cached:v1', dir]);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stdout, /Using cache/);
    const again = await build(['-t', 'cached:v2', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.match(/ ---> Using cache\n/g)?.length, 5, again.stdout);
    assert.doesNotMatch(again.stdout, /Running in/);
    const id = (name: string) => engine.docker(['image', 'inspect', '-f', '{{.Id}}', name]).then((r) => r.stdout.trim());
    assert.equal(await id('cached:v2'), await id('cached:v1'));
    writeFileSync(join(dir, 'b.txt'), 'changed\n');
    const changed = await build([dir]);
    assert.equal(changed.code, 0, changed.stderr);
    // ENV, COPY a.txt and its RUN come from the cache; COPY b.txt and the last RUN run again.
    assert.equal(changed.stdout.match(/ ---> Using cache\n/g)?.length, 3, changed.stdout);
    assert.match(changed.stdout, /Step 5\/6 : COPY b.txt \/b.txt\n ---> [a-f0-9]{12}\n/);
    const fresh = await build(['--no-cache', dir]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.doesNotMatch(fresh.stdout, /Using cache/);
    const history = await engine.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'cached:v1']);
    assert.match(history.stdout, /^\/bin\/sh -c #\(nop\) COPY file:[a-f0-9]{64} in \/b.txt $/m);
    assert.match(history.stdout, /^\/bin\/sh -c #\(nop\)  ENV MODE=cached$/m);
    const fromCache = await build(['--cache-from', 'cached:v1', dir]);
    assert.equal(fromCache.code, 0, fromCache.stderr);
    assert.match(fromCache.stdout, /Step 2\/6 : ENV MODE=cached\n ---> Using cache\n/);
  });

  test('multi-stage: FROM … AS, COPY --from a stage by name and by index, FROM scratch, --target', async () => {
    const dir = join(engine.root, 'multi-context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'Dockerfile'),
      [
        'ARG GREETING=compiled',
        'FROM busybox AS build',
        'ARG GREETING',
        'RUN mkdir /out && echo "$GREETING for $TARGETARCH" > /out/app',
        'FROM busybox AS tools',
        'RUN echo tools > /tools.txt',
        'FROM scratch',
        'COPY --from=build /out/app /app',
        'COPY --from=1 /bin/busybox /bin/busybox',
        'COPY --from=busybox /bin/busybox /bin/sh',
        'ENTRYPOINT ["/bin/busybox"]',
        'CMD ["cat", "/app"]',
        '',
      ].join('\n'),
    );
    const full = await build(['-t', 'multi:v1', dir]);
    assert.equal(full.code, 0, full.stderr + full.stdout);
    assert.match(full.stdout, /Step 1\/12 : ARG GREETING=compiled\nStep 2\/12 : FROM busybox AS build\n/);
    assert.match(full.stdout, /Step 7\/12 : FROM scratch\n ---> \n/);
    assert.equal((await engine.docker(['run', '--rm', 'multi:v1'])).stdout, 'compiled for \n');
    const env = await engine.docker(['image', 'inspect', '-f', '{{json .Config.Env}} {{len .RootFS.Layers}}', 'multi:v1']);
    assert.equal(env.stdout.trim(), '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] 3');
    const target = await build(['--target', 'build', '-t', 'multi:build', dir]);
    assert.equal(target.code, 0, target.stderr);
    assert.match(target.stdout, /Step 3\/4 : ARG GREETING\n/);
    assert.equal((await engine.docker(['run', '--rm', 'multi:build', 'cat', '/out/app'])).stdout, 'compiled for \n');
    writeFileSync(join(dir, 'Bad.Dockerfile'), 'FROM busybox\nCOPY --from=0 /bin/sh /x\n');
    const bad = await build(['-f', join(dir, 'Bad.Dockerfile'), dir]);
    assert.match(bad.stderr, /invalid from flag value 0: refers to current build stage/);
    writeFileSync(join(dir, 'Scratch.Dockerfile'), 'FROM scratch\nRUN true\n');
    const noShell = await build(['-f', join(dir, 'Scratch.Dockerfile'), dir]);
    assert.notEqual(noShell.code, 0);
    assert.match(noShell.stderr, /\/bin\/sh/);
  });

  test('ONBUILD triggers are stored in the parent and run in the child right after its FROM', async () => {
    const dir = join(engine.root, 'onbuild-context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'note.txt'), 'from the child context\n');
    writeFileSync(join(dir, 'Parent.Dockerfile'), 'FROM busybox\nMAINTAINER Jane Doe <jane@example.com>\nONBUILD COPY note.txt /note.txt\nONBUILD RUN echo triggered > /triggered.txt\n');
    const parent = await build(['-t', 'onbuild-parent', '-f', join(dir, 'Parent.Dockerfile'), dir]);
    assert.equal(parent.code, 0, parent.stderr);
    const stored = await engine.docker(['image', 'inspect', '-f', '{{json .Config.OnBuild}}|{{.Author}}', 'onbuild-parent']);
    assert.equal(stored.stdout.trim(), '["COPY note.txt /note.txt","RUN echo triggered > /triggered.txt"]|Jane Doe <jane@example.com>');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM onbuild-parent\nCMD ["cat", "/note.txt", "/triggered.txt"]\n');
    const child = await build(['-t', 'onbuild-child', dir]);
    assert.equal(child.code, 0, child.stderr);
    // The triggers' own output comes before the stage's first image ID, as moby prints it.
    assert.match(child.stdout, /Step 1\/2 : FROM onbuild-parent\n# Executing 2 build triggers\n ---> Running in ([a-f0-9]{12})\nRemoving intermediate container \1\n ---> [a-f0-9]{12}\nStep 2\/2 : /);
    assert.equal((await engine.docker(['run', '--rm', 'onbuild-child'])).stdout, 'from the child context\ntriggered\n');
    const onbuild = await engine.docker(['image', 'inspect', '-f', '{{json .Config.OnBuild}}', 'onbuild-child']);
    assert.equal(onbuild.stdout.trim(), 'null');
  });

  test('options: unused --build-arg warned, --label, --add-host and --network for RUN, rm=false keeps containers', async () => {
    const dir = join(engine.root, 'options-context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nARG USED\nRUN grep -q "10.1.2.3.*myhost" /etc/hosts && echo "used=$USED"\n');
    const result = await build(['--build-arg', 'USED=yes', '--build-arg', 'UNUSED=x', '--label', 'b=2', '--label', 'a=1', '--add-host', 'myhost:10.1.2.3', '--rm=false', '-t', 'options:v1', dir]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /used=yes\n/);
    assert.match(result.stdout, /Step 4\/5 : LABEL a=1\n[\s\S]*Step 5\/5 : LABEL b=2\n/);
    assert.match(result.stdout, /\[Warning\] One or more build-args \[UNUSED\] were not consumed\n/);
    assert.doesNotMatch(result.stdout, /Removing intermediate container/);
    const kept = (await engine.docker(['ps', '-aq'])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(kept.length, 4, 'ARG, RUN and the two LABEL steps each left their container');
    await engine.docker(['rm', '-f', ...kept]);
    const history = await engine.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'options:v1']);
    assert.match(history.stdout, /^\|1 USED=yes \/bin\/sh -c grep/m);
    writeFileSync(join(dir, 'Offline.Dockerfile'), 'FROM busybox\nRUN ip -o link | grep -v " lo:" | wc -l\n');
    const offline = await build(['--network', 'none', '-f', join(dir, 'Offline.Dockerfile'), dir]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /\n0\n/);
  });

  test('--memory and --cpu-shares reach the cgroups of RUN steps', async () => {
    const v1 = detectCgroups().version === 1;
    const memory = v1 ? 'memory/memory.limit_in_bytes' : 'memory.max';
    const shares = v1 ? 'cpu/cpu.shares' : 'cpu.weight';
    const dir = join(engine.root, 'limits-context');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nRUN cat /sys/fs/cgroup/${memory} /sys/fs/cgroup/${shares}\n`);
    const result = await build(['--memory', '64m', '--cpu-shares', '512', '--no-cache', dir]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, new RegExp(`Running in [a-f0-9]{12}\\n${64 << 20}\\n${v1 ? 512 : 20}\\n`));
  });
});

/** POST with an empty body straight to the engine's socket: the status and the error message. */
function postBuild(socketPath: string, path: string): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(text) as { message: string }).message }));
    });
    req.on('error', reject);
    req.end();
  });
}
