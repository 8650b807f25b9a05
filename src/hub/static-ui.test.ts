import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { acceptsGzip, insideDir, registerStaticUi } from './static-ui.ts';

describe('static UI', () => {
  let dir: string;
  let app: FastifyInstance;
  const script = 'console.log("wharf");'.repeat(20);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-static-ui-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>wharf</title>');
    writeFileSync(join(dir, 'assets/app-1a2b.js'), script);
    writeFileSync(join(dir, 'assets/app-1a2b.js.gz'), gzipSync(script));
    writeFileSync(join(dir, 'assets/plain.css'), 'body{}');
    writeFileSync(join(dir, 'secret.txt'), 'outside assets');
    app = Fastify();
    registerStaticUi(app, { dir });
    await app.ready();
  });

  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ and every /ui/ page answer index.html, never cached, with a strict CSP', async () => {
    for (const url of ['/', '/ui', '/ui/', '/ui/r/team/app', '/ui/r/a/-/manifest/latest', '/ui/admin/users?x=1']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, '<!doctype html><title>wharf</title>');
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-cache');
      assert.match(String(res.headers['content-security-policy']), /default-src 'self'; script-src 'self';/);
      assert.doesNotMatch(String(res.headers['content-security-policy']), /unsafe-inline/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
  });

  test('assets are immutable, and gzipped when the client takes it', async () => {
    const gz = await app.inject({ url: '/ui/assets/app-1a2b.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(gz.statusCode, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(gz.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(gz.headers.vary, 'accept-encoding');
    assert.equal(gunzipSync(gz.rawPayload).toString(), script);
    const plain = await app.inject({ url: '/ui/assets/app-1a2b.js', headers: { 'accept-encoding': 'gzip;q=0, br' } });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, script);
    assert.equal(plain.headers['content-length'], String(script.length));
    const noTwin = await app.inject({ url: '/ui/assets/plain.css', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(noTwin.headers['content-encoding'], undefined);
    assert.equal(noTwin.body, 'body{}');
    const head = await app.inject({ method: 'HEAD', url: '/ui/assets/plain.css' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], '6');
    assert.equal(head.body, '');
  });

  test('missing assets are 404, and nothing outside the assets is reachable', async () => {
    assert.equal((await app.inject({ url: '/ui/assets/nope.js' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/ui/assets/' })).statusCode, 404);
    for (const url of ['/ui/assets/../secret.txt', '/ui/assets/%2e%2e/secret.txt', '/ui/assets/..%2fsecret.txt', '/ui/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd']) {
      const res = await app.inject({ url });
      assert.notEqual(res.body, 'outside assets', url);
      assert.doesNotMatch(res.body, /root:/, url);
    }
  });

  test('without a build the /ui pages answer 503 saying how to build it, / the empty 200', async () => {
    const empty = Fastify();
    registerStaticUi(empty, { dir: join(dir, 'missing') });
    const res = await empty.inject({ url: '/ui/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /node scripts\/build-ui\.ts/);
    for (const url of ['/ui', '/ui/r/team/app']) assert.equal((await empty.inject({ url })).statusCode, 503, url);
    // Load balancers probe `/`: it stays registry:2's empty 200.
    for (const method of ['GET', 'HEAD'] as const) {
      const root = await empty.inject({ method, url: '/' });
      assert.equal(root.statusCode, 200, method);
      assert.equal(root.body, '');
    }
    await empty.close();
  });

  test('with a session function the page carries the caller\'s session in a meta tag, escaped, never stored', async () => {
    const withSession = Fastify();
    const info = { user: { name: 'a"li<ce>&', admin: false }, csrfToken: 'tok\'en', authMode: 'htpasswd' as const, anonymousBrowse: false };
    registerStaticUi(withSession, { dir: join(dir, ''), session: async () => info });
    await withSession.ready();
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><title>wharf</title></head></html>');
      const res = await withSession.inject({ url: '/ui/r/team/app' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
      const content = /<meta name="wharf-session" content="([^"]*)" \/>/.exec(res.body)?.[1];
      assert.ok(content, res.body);
      assert.doesNotMatch(content, /[<>'&](?!amp;|quot;|lt;|gt;|#39;)/, 'every special character escaped');
      const decoded = content.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
      assert.deepEqual(JSON.parse(decoded), info);
    } finally {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>wharf</title>');
      await withSession.close();
    }
  });

  test('Accept-Encoding parsing', () => {
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip('gzip'), true);
    assert.equal(acceptsGzip('br, GZIP;q=0.5'), true);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('*, gzip;q=0'), false);
    assert.equal(acceptsGzip('identity'), false);
  });

  test('paths resolve inside the directory only', () => {
    assert.equal(insideDir('/d', 'a.js'), '/d/a.js');
    assert.equal(insideDir('/d', '../etc/passwd'), null);
    assert.equal(insideDir('/d', '/etc/passwd'), null);
    assert.equal(insideDir('/d', 'a\0b'), null);
    assert.equal(insideDir('/d', ''), null);
  });
});
