import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { runOk } from '../../../test/support/run.ts';
import { startStaticHttp, type StaticHttp } from '../../../test/support/static-http.ts';
import { makeTempDir, type TempDir } from '../../../test/support/temp.ts';
import { type BuildContext, openBuildContext } from './build-context.ts';

/** Files of a context: a path ending in `/` is a directory, `-> x` a symlink to x. */
type Tree = Record<string, string>;

function writeTree(dir: string, tree: Tree): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(tree)) {
    const host = join(dir, path);
    mkdirSync(dirname(host), { recursive: true });
    if (path.endsWith('/')) mkdirSync(host, { recursive: true });
    else if (content.startsWith('-> ')) symlinkSync(content.slice(3), host);
    else writeFileSync(host, content);
  }
}

/** Every path under `dir`, slash-separated, directories with a trailing `/`. */
function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? [`${path}/`, ...listTree(dir, path)] : [path];
  }).sort();
}

const compressors = { none: [], gzip: ['gzip', '-c'], bzip2: ['bzip2', '-c'], xz: ['xz', '-c'], zstd: ['zstd', '-q', '-c'] } as const;

describe('openBuildContext', () => {
  let temp: TempDir;
  let workDir: string;
  let serial = 0;

  before(() => {
    temp = makeTempDir('wharf-build-context-');
    workDir = join(temp.path, 'work');
  });
  after(() => temp.remove());

  /** A tar of `tree` (as the docker CLI sends it), compressed with `compression`, as a file. */
  async function archive(tree: Tree, compression: keyof typeof compressors = 'none'): Promise<string> {
    const src = join(temp.path, `src-${++serial}`);
    writeTree(src, tree);
    const tarFile = join(temp.path, `ctx-${serial}.tar`);
    await runOk('tar', ['-c', '-f', tarFile, '-C', src, '.']);
    if (compression === 'none') return tarFile;
    const [tool, ...args] = compressors[compression];
    await runOk('sh', ['-c', `${tool} ${args.join(' ')} "$1" > "$1.z"`, 'sh', tarFile]);
    return `${tarFile}.z`;
  }

  async function open(file: string, options: { dockerfile?: string; remote?: string; signal?: AbortSignal } = {}): Promise<BuildContext> {
    return openBuildContext({ body: createReadStream(file), workDir, ...options });
  }

  function assertNothingLeft(): void {
    assert.deepEqual(existsSync(workDir) ? readdirSync(workDir) : [], [], 'the work dir is empty again');
  }

  for (const compression of Object.keys(compressors) as (keyof typeof compressors)[]) {
    it(`unpacks a ${compression} context and finds its Dockerfile`, async () => {
      const ctx = await open(await archive({ Dockerfile: 'FROM busybox\n', 'app/main.sh': 'echo hi\n', 'app/empty/': '' }, compression));
      try {
        assert.equal(readFileSync(ctx.dockerfile, 'utf8'), 'FROM busybox\n');
        assert.deepEqual(listTree(ctx.dir), ['Dockerfile', 'app/', 'app/empty/', 'app/main.sh']);
        assert.ok(ctx.dir.startsWith(workDir));
      } finally {
        await ctx.dispose();
      }
      assertNothingLeft();
    });
  }

  it('resolves dockerfile= inside the context, symlinks too', async () => {
    const file = await archive({ 'build/Dockerfile.prod': 'FROM prod\n', 'link.Dockerfile': '-> /build/Dockerfile.prod', 'up.Dockerfile': '-> ../../build/Dockerfile.prod' });
    for (const name of ['build/Dockerfile.prod', 'link.Dockerfile', 'up.Dockerfile', './build/../build/Dockerfile.prod']) {
      const ctx = await open(file, { dockerfile: name });
      try {
        assert.equal(readFileSync(ctx.dockerfile, 'utf8'), 'FROM prod\n', name);
        assert.ok(ctx.dockerfile.startsWith(ctx.dir), name);
      } finally {
        await ctx.dispose();
      }
    }
    assertNothingLeft();
  });

  it('falls back to a lowercase dockerfile as moby does, only for the default name', async () => {
    const file = await archive({ dockerfile: 'FROM lower\n' });
    const ctx = await open(file);
    assert.equal(readFileSync(ctx.dockerfile, 'utf8'), 'FROM lower\n');
    await ctx.dispose();
    await assert.rejects(open(file, { dockerfile: 'Other' }), { message: 'Cannot locate specified Dockerfile: Other' });
    assertNothingLeft();
  });

  it('says moby\'s words for a missing, escaping, empty or directory Dockerfile', async () => {
    const file = await archive({ 'dir/': '', 'Empty': '', 'dangling': '-> /nowhere' });
    await assert.rejects(open(file), (err) => isFault(err, 'invalid-argument') && err.message === 'Cannot locate specified Dockerfile: Dockerfile');
    await assert.rejects(open(file, { dockerfile: 'dangling' }), { message: 'Cannot locate specified Dockerfile: dangling' });
    await assert.rejects(open(file, { dockerfile: '../outside' }), { message: 'forbidden path outside the build context: ../outside ()' });
    await assert.rejects(open(file, { dockerfile: 'Empty' }), { message: 'the Dockerfile (Empty) cannot be empty' });
    await assert.rejects(open(file, { dockerfile: 'dir' }), (err) => isFault(err, 'invalid-argument') && /is a directory/.test(err.message));
    assertNothingLeft();
  });

  it('removes a Dockerfile and .dockerignore that .dockerignore lists, and keeps the rest of a local context', async () => {
    const tree = { Dockerfile: 'FROM x\n', '.dockerignore': '# build files\nDockerfile\n.dockerignore\nsecret.txt\n', 'secret.txt': 's', 'src/a.c': 'a' };
    const ctx = await open(await archive(tree));
    try {
      assert.equal(readFileSync(ctx.dockerfile, 'utf8'), 'FROM x\n', 'the Dockerfile is still read');
      assert.ok(!ctx.dockerfile.startsWith(`${ctx.dir}/`), 'but it lies outside the context');
      // The client already filtered a local context; moby's daemon only takes the build files out.
      assert.deepEqual(listTree(ctx.dir), ['secret.txt', 'src/', 'src/a.c']);
    } finally {
      await ctx.dispose();
    }
    assertNothingLeft();
  });

  it('keeps the build files when .dockerignore does not list them, matching the fallback name', async () => {
    const ctx = await open(await archive({ dockerfile: 'FROM x\n', '.dockerignore': 'Dockerfile\n*.tmp\n[', 'a.tmp': '' }));
    try {
      // `Dockerfile` does not list `dockerfile`; the malformed `[` makes moby skip the removal without an error.
      assert.deepEqual(listTree(ctx.dir), ['.dockerignore', 'a.tmp', 'dockerfile']);
      assert.equal(ctx.dockerfile, join(ctx.dir, 'dockerfile'));
    } finally {
      await ctx.dispose();
    }
  });

  it('skips the removal, without an error, for a pattern Go\'s regexp refuses', async () => {
    const ctx = await open(await archive({ Dockerfile: 'FROM x\n', '.dockerignore': 'Dockerfile\n.dockerignore\na/[z-a]*\n' }));
    try {
      assert.deepEqual(listTree(ctx.dir), ['.dockerignore', 'Dockerfile']);
    } finally {
      await ctx.dispose();
    }
  });

  it('refuses a Dockerfile beyond 16 MiB before reading it', async () => {
    const src = join(temp.path, 'huge');
    mkdirSync(src);
    writeFileSync(join(src, 'Dockerfile'), 'FROM x\n');
    truncateSync(join(src, 'Dockerfile'), 16 * 1024 * 1024 + 1);
    const tarFile = join(temp.path, 'huge.tar');
    await runOk('tar', ['-c', '-f', tarFile, '-C', src, '.']);
    await assert.rejects(open(tarFile), (err) => isFault(err, 'too-large') && err.message === 'the Dockerfile (Dockerfile) is larger than 16777216 bytes');
    assertNothingLeft();
  });

  it('refuses a corrupt or truncated context cleanly, leaving nothing behind', async () => {
    const gz = await archive({ Dockerfile: 'FROM x\n', big: 'x'.repeat(200_000) }, 'gzip');
    truncateSync(gz, statSync(gz).size - 100);
    const xz = await archive({ Dockerfile: 'FROM x\n', big: 'y'.repeat(200_000) }, 'xz');
    truncateSync(xz, 200);
    const garbage = join(temp.path, 'garbage');
    writeFileSync(garbage, 'this is not a tar archive at all, just words\n'.repeat(20));
    for (const file of [gz, xz, garbage]) {
      await assert.rejects(open(file), (err) => isFault(err, 'invalid-argument') && /build context is not a valid tar archive/.test(err.message), file);
    }
    assertNothingLeft();
  });

  it('takes an empty body as an empty context, as moby does', async () => {
    await assert.rejects(openBuildContext({ body: Readable.from([]), workDir }), { message: 'Cannot locate specified Dockerfile: Dockerfile' });
    assertNothingLeft();
  });

  it('refuses members that climb out or write through a symlink, writing nothing outside', async () => {
    const src = join(temp.path, `evil-${++serial}`);
    writeTree(src, { Dockerfile: 'FROM x\n', 'escape.txt': 'out', 'hostlink': `-> ${temp.path}` });
    const climbing = join(temp.path, `climb-${serial}.tar`);
    // GNU tar writes the names as rewritten: `../../escape.txt`, and `hostlink/escape.txt` after the symlink.
    await runOk('tar', ['-c', '-f', climbing, '-C', src, '-P', '--transform=s,^escape.txt,../../escape.txt,', 'Dockerfile', 'escape.txt']);
    const through = join(temp.path, `through-${serial}.tar`);
    await runOk('tar', ['-c', '-f', through, '-C', src, 'Dockerfile', 'hostlink']);
    await runOk('tar', ['-r', '-f', through, '-C', src, '-P', '--transform=s,^escape.txt,hostlink/escape.txt,', 'escape.txt']);
    for (const file of [climbing, through]) {
      await assert.rejects(open(file), (err) => isFault(err, 'invalid-argument') && /not a valid tar archive: tar: /.test(err.message), file);
    }
    assert.ok(!existsSync(join(temp.path, 'escape.txt')) && !existsSync(join(workDir, 'escape.txt')));
    assertNothingLeft();
  });

  it('stops and cleans up when the request is aborted mid-body', async () => {
    const controller = new AbortController();
    async function* slowBody() {
      yield readFileSync(await archive({ Dockerfile: 'FROM x\n' })).subarray(0, 1024);
      controller.abort(new Error('client went away'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield Buffer.alloc(512);
    }
    await assert.rejects(openBuildContext({ body: Readable.from(slowBody()), workDir, signal: controller.signal }), (err: Error) =>
      err.name === 'AbortError' || err.message === 'client went away');
    assertNothingLeft();
  });

  describe('remote=', () => {
    let server: StaticHttp;
    let files: string;
    const types: Record<string, string> = {};

    before(async () => {
      files = join(temp.path, 'www');
      mkdirSync(files, { recursive: true });
      server = await startStaticHttp(files, { contentTypes: types });
    });
    after(() => server.close());

    async function serve(name: string, file: string, type?: string): Promise<string> {
      writeFileSync(join(files, name), readFileSync(file));
      if (type) types[`/${name}`] = type;
      return `${server.url}/${name}`;
    }

    const remoteTree = {
      Dockerfile: 'FROM remote\n',
      '.dockerignore': '*.md\n!README.md\ndocs\n!docs/keep/this.txt\n.dockerignore\n',
      'README.md': 'r',
      'NOTES.md': 'n',
      'docs/guide.txt': 'g',
      'docs/keep/this.txt': 't',
      'docs/keep/not.txt': 'x',
      'src/app.md': 'nested md stays: *.md has no slash',
    };

    for (const [compression, type] of [['gzip', 'application/octet-stream'], ['none', 'application/x-tar'], ['xz', undefined], ['zstd', undefined], ['bzip2', 'application/x-bzip2']] as const) {
      it(`downloads a ${compression} tarball (${type ?? 'no Content-Type'}); .dockerignore removes only the build files, as moby`, async () => {
        const url = await serve(`ctx-${compression}`, await archive(remoteTree, compression), type);
        const ctx = await openBuildContext({ body: Readable.from([]), remote: url, workDir });
        try {
          assert.equal(readFileSync(ctx.dockerfile, 'utf8'), 'FROM remote\n');
          const kept = ['Dockerfile', 'NOTES.md', 'README.md', 'docs/', 'docs/guide.txt', 'docs/keep/', 'docs/keep/not.txt', 'docs/keep/this.txt', 'src/', 'src/app.md'];
          assert.deepEqual(listTree(ctx.dir), kept);
        } finally {
          await ctx.dispose();
        }
        assertNothingLeft();
      });
    }

    it('takes a text answer as the Dockerfile of an empty context', async () => {
      const text = join(temp.path, 'plain-dockerfile');
      writeFileSync(text, 'FROM busybox\nRUN echo hi\n');
      for (const type of ['text/plain; charset=utf-8', undefined]) {
        const ctx = await openBuildContext({ body: Readable.from([]), remote: await serve(`df-${type ? 'typed' : 'sniffed'}`, text, type), workDir });
        try {
          assert.equal(readFileSync(ctx.dockerfile, 'utf8'), 'FROM busybox\nRUN echo hi\n');
          assert.deepEqual(listTree(ctx.dir), []);
        } finally {
          await ctx.dispose();
        }
      }
      assertNothingLeft();
    });

    it('refuses a Dockerfile answer beyond 16 MiB while it streams', async () => {
      const big = join(temp.path, 'big-dockerfile');
      writeFileSync(big, `FROM x\n${'# comment line\n'.repeat(1.25 * 1024 * 1024)}`);
      const url = await serve('big', big, 'text/plain');
      await assert.rejects(openBuildContext({ body: Readable.from([]), remote: url, workDir }), (err) => isFault(err, 'too-large'));
      assertNothingLeft();
    });

    it('words remote failures as moby does', async () => {
      const page = join(temp.path, 'page.html');
      writeFileSync(page, '<!DOCTYPE html><html><body>hello</body></html>');
      const html = await serve('page.html', page, 'text/html');
      const sniffedHtml = await serve('page2', page);
      const empty = join(temp.path, 'empty');
      writeFileSync(empty, '');
      const emptyUrl = await serve('empty', empty);
      const open = (remote: string) => openBuildContext({ body: Readable.from([]), remote, workDir });
      await assert.rejects(open(`${server.url}/missing.tar`), (err) =>
        isFault(err, 'not-found') &&
        err.message === `error downloading remote context ${server.url}/missing.tar: failed to GET ${server.url}/missing.tar with status 404 Not Found: 404 page not found`);
      await assert.rejects(open(html), { message: `error detecting content type for remote ${html}: unsupported Content-Type "text/html"` });
      await assert.rejects(open(sniffedHtml), { message: `error detecting content type for remote ${sniffedHtml}: unsupported Content-Type ""` });
      await assert.rejects(open(emptyUrl), { message: `error detecting content type for remote ${emptyUrl}: empty response` });
      await assert.rejects(open('ftp://example.invalid/x'), { message: 'remoteURL (ftp://example.invalid/x) could not be recognized as URL' });
      await assert.rejects(open('http://127.0.0.1:1/ctx.tar'), (err) => isFault(err, 'unavailable') && /^error downloading remote context http:\/\/127\.0\.0\.1:1\/ctx\.tar: Get "http:\/\/127\.0\.0\.1:1\/ctx\.tar": /.test(err.message));
      assertNothingLeft();
    });
  });
});
