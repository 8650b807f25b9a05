import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../../../test/support/temp.ts';
import { downloadName, downloadSource } from './add-url.ts';
import { prepareCopy } from './copy-sources.ts';

const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
const bigChunk = Buffer.alloc(1024 * 1024, 'w');
const bigChunks = 8;

/** A server on 127.0.0.1 answering the few paths these tests ask for. */
async function startServer(files: Record<string, Buffer> = {}): Promise<{ url: string; close(): Promise<void> }> {
  const routes: Record<string, (res: ServerResponse) => void> = {
    ...Object.fromEntries(Object.entries(files).map(([path, body]) => [path, (res: ServerResponse) => res.writeHead(200).end(body)])),
    '/files/hello.txt': (res) => res.writeHead(200, { 'Last-Modified': lastModified }).end('hello\n'),
    '/plain': (res) => res.writeHead(200).end('no date\n'),
    '/dir/': (res) => res.writeHead(200, { 'Content-Disposition': 'attachment; filename="named.bin"' }).end('named\n'),
    '/nameless/': (res) => res.writeHead(200).end('x'),
    '/missing': (res) => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('  nope\n'),
    '/broken': (res) => res.writeHead(500).end('boom'),
    '/big.bin': (res) => {
      res.writeHead(200, { 'Content-Length': bigChunk.length * bigChunks });
      let sent = 0;
      const more = () => {
        while (sent < bigChunks) {
          sent++;
          if (!res.write(bigChunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    },
  };
  const server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route) route(res);
    else res.writeHead(404).end('404 page not found\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      return closed;
    },
  };
}

test('a download is named after the URL path, gets Last-Modified as mtime and mode 0600', async () => {
  const server = await startServer();
  try {
    await withTempDir('wharf-add-url-', async (scratch) => {
      const hello = await downloadSource(`${server.url}/files/hello.txt`, scratch);
      assert.equal(hello.name, 'hello.txt');
      assert.equal(readFileSync(hello.path, 'utf8'), 'hello\n');
      assert.equal(statSync(hello.path).mode & 0o7777, 0o600);
      assert.equal(statSync(hello.path).mtime.toISOString(), '2015-10-21T07:28:00.000Z');
      const plain = await downloadSource(`${server.url}/plain`, scratch);
      assert.equal(statSync(plain.path).mtimeMs, 0, 'no Last-Modified: the epoch, as moby');
      const named = await downloadSource(`${server.url}/dir/`, scratch);
      assert.equal(named.name, 'named.bin', 'Content-Disposition names what the path does not');
      const nameless = await downloadSource(`${server.url}/nameless/`, scratch);
      assert.equal(nameless.name, '');
      assert.equal(readdirSync(nameless.dir)[0], '__unnamed__');
    });
  } finally {
    await server.close();
  }
});

test('a large answer streams to the scratch directory whole', async () => {
  const server = await startServer();
  try {
    await withTempDir('wharf-add-url-', async (scratch) => {
      const big = await downloadSource(`${server.url}/big.bin`, scratch);
      const want = createHash('sha256');
      for (let i = 0; i < bigChunks; i++) want.update(bigChunk);
      assert.equal(createHash('sha256').update(readFileSync(big.path)).digest('hex'), want.digest('hex'));
    });
  } finally {
    await server.close();
  }
});

test('an error status fails with moby\'s wording and the answer\'s body', async () => {
  const server = await startServer();
  try {
    await withTempDir('wharf-add-url-', async (scratch) => {
      await assert.rejects(downloadSource(`${server.url}/missing`, scratch), {
        kind: 'not-found',
        message: `failed to GET ${server.url}/missing with status 404 Not Found: nope`,
      });
      await assert.rejects(downloadSource(`${server.url}/broken`, scratch), {
        message: `failed to GET ${server.url}/broken with status 500 Internal Server Error: boom`,
      });
      assert.deepEqual(readdirSync(scratch), [], 'nothing is kept for a failed download');
    });
  } finally {
    await server.close();
  }
});

test('download names: the last path segment (decoded), else Content-Disposition, else none', () => {
  assert.equal(downloadName('http://h/a/b%20c.txt?x=1', null), 'b c.txt');
  assert.equal(downloadName('http://h/a/', 'attachment; filename=z.tgz'), 'z.tgz');
  assert.equal(downloadName('http://h/', 'attachment; filename="../../etc/x"'), 'x');
  assert.equal(downloadName('http://h', null), '');
});

test('ADD of a URL copies the download (never extracted) with --chown; COPY refuses a URL', async () => {
  await withTempDir('wharf-add-url-', async (base) => {
    const [context, scratch, root] = ['context', 'scratch', 'root'].map((d) => join(base, d));
    for (const dir of [context, scratch, root]) mkdirSync(dir);
    writeFileSync(join(base, 'inner.txt'), 'inside\n');
    execFileSync('tar', ['-czf', join(base, 'ball.tgz'), '-C', base, 'inner.txt']);
    const server = await startServer({ '/ball.tgz': readFileSync(join(base, 'ball.tgz')) });
    try {
      const spec = { keyword: 'ADD' as const, destination: '/dl/', workdir: '/', from: context, fromContext: true, scratchDir: scratch };
      const added = await prepareCopy({ ...spec, sources: [`${server.url}/files/hello.txt`], chown: '5:6' });
      assert.match(added.describe, /^[0-9a-f]{64} in \/dl\/$/, 'moby hashes a download without the file: prefix');
      await added.apply(root);
      const st = statSync(join(root, 'dl', 'hello.txt'));
      assert.deepEqual([st.mode & 0o7777, st.uid, st.gid, st.mtime.toISOString()], [0o600, 5, 6, '2015-10-21T07:28:00.000Z']);
      await added.dispose();
      assert.deepEqual(readdirSync(scratch), [], 'dispose removes the download');
      await assert.rejects(prepareCopy({ ...spec, sources: [`${server.url}/nameless/`] }), {
        message: `ADD failed: cannot determine filename for source ${server.url}/nameless/`,
      });
      await assert.rejects(prepareCopy({ ...spec, sources: [`${server.url}/missing`] }), /^Fault: ADD failed: failed to GET .* 404 Not Found: nope$/);
      await assert.rejects(prepareCopy({ ...spec, keyword: 'COPY', sources: [`${server.url}/files/hello.txt`] }), {
        message: "COPY failed: source can't be a URL for COPY",
      });
      assert.deepEqual(readdirSync(scratch), [], 'a failed prepare keeps nothing');
      const ball = await prepareCopy({ ...spec, sources: [`${server.url}/ball.tgz`] });
      await ball.apply(root);
      await ball.dispose();
      assert.deepEqual(readFileSync(join(root, 'dl', 'ball.tgz')), readFileSync(join(base, 'ball.tgz')), 'a downloaded archive stays an archive');
    } finally {
      await server.close();
    }
  });
});
