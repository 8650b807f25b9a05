import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { stdSerializers } from 'pino';
import { isFault } from '../../base/fault.ts';
import { RegistryClient, type RegistryAuth } from '../../client/registry-client.ts';
import { putManifest, uploadBlob } from '../../client/registry-push.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { type Distribution, startDistribution } from '../../../test/support/distribution.ts';
import { freePort } from '../../../test/support/ports.ts';
import { runOk } from '../../../test/support/run.ts';
import { startTcpRelay } from '../../../test/support/tcp-relay.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../../../test/support/wharf.ts';
import { RegistryUpstream, type UpstreamTimeouts } from './upstream.ts';

interface PushedImage {
  digest: string;
  manifest: Buffer;
  config: Buffer;
  layer: Buffer;
}

/** A one-layer OCI image pushed with the client's push helpers (Basic or token flow as the registry asks). */
async function pushImage(url: string, repository: string, tag: string, auth: RegistryAuth = {}): Promise<PushedImage> {
  const session = new RegistryClient().sessionAt({ base: new URL(url), insecureTls: false }, repository, auth, ['pull', 'push']);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed: `${repository}:${tag}` }));
  const layer = Buffer.from(`layer of ${repository}:${tag}`);
  for (const blob of [config, layer]) {
    await uploadBlob(session, repository, { digest: digestOf(blob), size: blob.length, open: async () => Readable.from([blob]) });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: mediaTypes.ociLayer, digest: digestOf(layer), size: layer.length }],
    }),
  );
  const digest = await putManifest(session, repository, tag, { bytes: manifest, mediaType: mediaTypes.ociManifest, digest: digestOf(manifest) });
  return { digest, manifest, config, layer };
}

function upstreamOf(url: string, options: { auth?: RegistryAuth; timeouts?: Partial<UpstreamTimeouts>; name?: string } = {}): RegistryUpstream {
  return new RegistryUpstream({ name: options.name ?? 'test/', url, client: new RegistryClient(), auth: options.auth, maxManifestBytes: 4 * 1024 * 1024, timeouts: options.timeouts });
}

/** The upstream's failure as the design words it: unavailable, UPSTREAM_UNAVAILABLE, the message matching. */
function upstreamFailure(message: RegExp, status?: number) {
  return (err: unknown) => {
    assert.ok(isFault(err, 'unavailable'), String(err));
    assert.equal(err.code, 'UPSTREAM_UNAVAILABLE');
    assert.match(err.message, message);
    if (status !== undefined) assert.equal((err.detail as { status?: number }).status, status);
    return true;
  };
}

/** A blob or manifest file in distribution's filesystem layout. */
function blobData(registry: Distribution, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(registry.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}


/** A blob body's chunks, each copied as it arrives (a chunk of a plain-http body is reused for the next one). */
async function copiedChunks(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  if (body) for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return chunks;
}

describe('RegistryUpstream against distribution 2.8 without auth', () => {
  let registry: Distribution;
  let image: PushedImage;

  before(async () => {
    registry = await startDistribution();
    image = await pushImage(registry.url, 'team/app', 'v1');
  });
  after(() => registry?.close());

  test('HEAD and GET of a manifest by tag and by digest name the same verified digest and media type', async () => {
    const upstream = upstreamOf(registry.url);
    for (const reference of ['v1', image.digest]) {
      assert.deepEqual(await upstream.headManifest('team/app', reference), { digest: image.digest, mediaType: mediaTypes.ociManifest, size: image.manifest.length });
      assert.deepEqual(await upstream.getManifest('team/app', reference), { digest: image.digest, mediaType: mediaTypes.ociManifest, body: image.manifest });
    }
  });

  test('blobs are opened as streams of the announced size and found by HEAD', async () => {
    const upstream = upstreamOf(registry.url);
    const opened = await upstream.openBlob('team/app', digestOf(image.layer));
    assert.ok(opened);
    assert.equal(opened.size, image.layer.length);
    assert.deepEqual(Buffer.concat(await copiedChunks(opened.stream)), image.layer);
    assert.deepEqual(await upstream.headBlob('team/app', digestOf(image.config)), { size: image.config.length });
  });

  test('what the upstream does not have (404) is undefined, not a failure', async () => {
    const upstream = upstreamOf(registry.url);
    const absent = `sha256:${'0'.repeat(64)}`;
    assert.equal(await upstream.headManifest('team/app', 'v2'), undefined);
    assert.equal(await upstream.getManifest('team/app', 'v2'), undefined);
    assert.equal(await upstream.getManifest('team/app', absent), undefined);
    assert.equal(await upstream.getManifest('team/other', 'v1'), undefined);
    assert.equal(await upstream.openBlob('team/app', absent), undefined);
    assert.equal(await upstream.headBlob('team/app', absent), undefined);
  });

  test('every answer is read to its end: runs of calls, 404s included, reuse the same connections (blob bodies aside), and a dropped blob leaves the upstream usable', async () => {
    const relay = await startTcpRelay(registry.host);
    try {
      const upstream = upstreamOf(relay.url);
      const round = async () => {
        await upstream.headManifest('team/app', 'v1');
        await upstream.getManifest('team/app', image.digest);
        await upstream.getManifest('team/app', 'missing');
        await upstream.headBlob('team/app', digestOf(image.config));
        const blob = await upstream.openBlob('team/app', digestOf(image.layer));
        await copiedChunks(blob?.stream);
      };
      await round();
      const opened = relay.connections();
      for (let i = 0; i < 5; i++) await round();
      // A blob body over plain http comes on a connection of its own, closed at its end (rawGet): one per round.
      assert.equal(relay.connections(), opened + 5, 'later rounds reuse the keep-alive connections of the first: none was left holding a body');
      const dropped = await upstream.openBlob('team/app', digestOf(image.layer));
      dropped?.stream.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(await upstream.getManifest('team/app', 'v1'), 'the upstream still answers after a body was dropped');
    } finally {
      await relay.close();
    }
  });

  test('a manifest whose stored bytes no longer match its digest is refused, by digest and by tag', async () => {
    const corrupt = await pushImage(registry.url, 'team/corrupt', 'v1');
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(corrupt.manifest.toString('utf8')), null, 1));
    writeFileSync(blobData(registry, corrupt.digest), reformatted);
    const upstream = upstreamOf(registry.url, { name: 'dist/' });
    const message = new RegExp(`^upstream dist/ sent content that does not match ${corrupt.digest}$`);
    await assert.rejects(upstream.getManifest('team/corrupt', corrupt.digest), upstreamFailure(message));
    await assert.rejects(upstream.getManifest('team/corrupt', 'v1'), upstreamFailure(message));
    assert.equal(readFileSync(blobData(registry, corrupt.digest), 'utf8'), reformatted.toString('utf8'), 'distribution served what is on its disk');
  });

  test('a refused connection is the upstream being unavailable', async () => {
    const upstream = upstreamOf(`http://127.0.0.1:${await freePort()}`, { name: 'gone/' });
    await assert.rejects(upstream.headManifest('team/app', 'v1'), upstreamFailure(/^upstream gone\/ unavailable: Head ".*": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/));
    const err = await upstream.openBlob('team/app', image.digest).then(() => undefined, (e: unknown) => e);
    assert.ok(upstreamFailure(/connection refused/)(err));
    // As the log shows it (pino appends the messages of causes): the reason once.
    const logged = stdSerializers.err(err as Error).message;
    assert.equal(logged, (err as Error).message);
    assert.equal(logged.match(/connection refused/g)?.length, 1, logged);
  });

  test('the scheme is used as given: https to a plain-http registry fails instead of falling back', async () => {
    const upstream = upstreamOf(registry.url.replace('http:', 'https:'));
    await assert.rejects(upstream.getManifest('team/app', 'v1'), upstreamFailure(/server gave HTTP response to HTTPS client|wrong version number/));
  });

  test('a caller’s abort is passed through as an abort, not as the upstream’s failure', async () => {
    const upstream = upstreamOf(registry.url);
    const aborted = AbortSignal.abort();
    await assert.rejects(upstream.getManifest('team/app', 'v1', aborted), (err: Error) => err.name === 'AbortError');
  });
});

describe('RegistryUpstream against distribution 2.8 with htpasswd (Basic)', () => {
  let registry: Distribution;
  let dir: string;
  let image: PushedImage;
  const alice = { username: 'alice', password: 'alice-secret' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-upstream-basic-'));
    const htpasswdFile = join(dir, 'htpasswd');
    writeFileSync(htpasswdFile, `alice:${bcrypt.hashSync(alice.password, 5)}\n`);
    registry = await startDistribution({ htpasswdFile });
    image = await pushImage(registry.url, 'team/app', 'v1', alice);
  });
  after(async () => {
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the upstream’s credentials are sent as Basic', async () => {
    const upstream = upstreamOf(registry.url, { auth: alice });
    assert.equal((await upstream.getManifest('team/app', 'v1'))?.digest, image.digest);
    assert.deepEqual(await upstream.headBlob('team/app', digestOf(image.layer)), { size: image.layer.length });
  });

  test('refused or missing credentials are the upstream being unavailable, saying which', async () => {
    const wrong = upstreamOf(registry.url, { auth: { username: 'alice', password: 'nope' }, name: 'basic/' });
    await assert.rejects(wrong.getManifest('team/app', 'v1'), upstreamFailure(/^upstream basic\/ unavailable: it refused the mirror's credentials \(401/, 401));
    const none = upstreamOf(registry.url, { name: 'basic/' });
    await assert.rejects(none.headManifest('team/app', 'v1'), upstreamFailure(/^upstream basic\/ unavailable: it requires credentials, and the mirror has none for it \(401/, 401));
  });
});

describe('RegistryUpstream with token auth: distribution 2.8 trusting wharf’s tokens, and a wharf registry', () => {
  let registry: Distribution;
  let issuer: TestWharf;
  let dir: string;
  let metricsUrl: string;
  let image: PushedImage;
  const alice = { username: 'alice', password: 'alice-secret' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-upstream-token-'));
    const root = join(dir, 'issuer');
    await runOk(wharfBin, ['user', 'add', 'alice', '--password-stdin', '--root', root], { input: `${alice.password}\n` });
    const bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, await runOk(wharfBin, ['cert', 'token', '--root', root]));
    const metricsAddr = `127.0.0.1:${await freePort()}`;
    metricsUrl = `http://${metricsAddr}/metrics`;
    issuer = await startTestWharf({ root, parts: ['token'], config: { auth: { mode: 'token', token: { addr: '127.0.0.1:0', metricsAddr } } } });
    registry = await startDistribution({ token: { realm: `${issuer.url}/auth/token`, service: 'wharf-registry', issuer: 'wharf', rootCertBundle: bundle } });
    image = await pushImage(registry.url, 'alice/app', 'v1', alice);
  });
  after(async () => {
    await registry?.close();
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function tokensIssued(): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    return [...text.matchAll(/^wharf_auth_tokens_issued_total(?:\{[^}]*\})? (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  test('the Bearer token flow with the upstream’s credentials, one token reused across a repository’s requests', async () => {
    const upstream = upstreamOf(registry.url, { auth: alice });
    const before = await tokensIssued();
    assert.equal((await upstream.headManifest('alice/app', 'v1'))?.digest, image.digest);
    assert.deepEqual((await upstream.getManifest('alice/app', image.digest))?.body, image.manifest);
    const blob = await upstream.openBlob('alice/app', digestOf(image.layer));
    assert.deepEqual(Buffer.concat((await copiedChunks(blob?.stream)) ?? []), image.layer);
    assert.equal(await tokensIssued(), before + 1);
  });

  test('credentials the token endpoint refuses are the upstream being unavailable', async () => {
    const upstream = upstreamOf(registry.url, { auth: { username: 'alice', password: 'nope' }, name: 'tok/' });
    await assert.rejects(upstream.getManifest('alice/app', 'v1'), upstreamFailure(/^upstream tok\/ unavailable: its token endpoint refused the mirror's credentials/, 401));
  });

  test('a wharf registry with token auth is an upstream too', async () => {
    const wharf = await startTestWharf({ root: join(dir, 'issuer'), config: { auth: { mode: 'token' } } });
    try {
      const pushed = await pushImage(wharf.url, 'alice/tool', 'v1', alice);
      const upstream = upstreamOf(wharf.url, { auth: alice });
      assert.deepEqual(await upstream.headManifest('alice/tool', 'v1'), { digest: pushed.digest, mediaType: mediaTypes.ociManifest, size: pushed.manifest.length });
      const blob = await upstream.openBlob('alice/tool', digestOf(pushed.config));
      assert.deepEqual(Buffer.concat((await copiedChunks(blob?.stream)) ?? []), pushed.config);
      const anonymous = upstreamOf(wharf.url, { name: 'wharf/' });
      await assert.rejects(anonymous.getManifest('alice/tool', 'v1'), upstreamFailure(/^upstream wharf\/ unavailable: it requires credentials, and the mirror has none for it \(401/, 401));
    } finally {
      await wharf.close();
    }
  });
});

describe('RegistryUpstream against a misbehaving upstream', () => {
  let server: Server;
  let url: string;
  let handle: (path: string, res: ServerResponse) => void = () => undefined;

  before(async () => {
    server = createServer((req, res) => handle(req.url ?? '', res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('5xx and 429 answers are the upstream being unavailable, with the status', async () => {
    const upstream = upstreamOf(url, { name: 'flaky/' });
    handle = (_path, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}');
    await assert.rejects(upstream.getManifest('team/app', 'v1'), upstreamFailure(/^upstream flaky\/ unavailable: it answered 503: unavailable: down for maintenance$/, 503));
    handle = (_path, res) => res.writeHead(429, { 'content-type': 'application/json' }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
    await assert.rejects(upstream.getManifest('team/app', 'v1'), upstreamFailure(/^upstream flaky\/ unavailable: it is rate-limiting the mirror \(429: toomanyrequests: slow down\)$/, 429));
    await assert.rejects(upstream.headManifest('team/app', 'v1'), upstreamFailure(/^upstream flaky\/ unavailable: it is rate-limiting the mirror \(429\)$/, 429));
    handle = (_path, res) => res.writeHead(502).end();
    await assert.rejects(upstream.openBlob('team/app', `sha256:${'6'.repeat(64)}`), upstreamFailure(/^upstream flaky\/ unavailable: it answered 502$/, 502));
  });

  test('an error page from where the upstream redirected is not echoed: only its status', async () => {
    const internal = createServer((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"X","message":"db_password=hunter2"}]}'));
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    try {
      const upstream = upstreamOf(url, { name: 'redirecting/' });
      handle = (_path, res) => res.writeHead(307, { location: `http://127.0.0.1:${(internal.address() as AddressInfo).port}/admin` }).end();
      await assert.rejects(upstream.openBlob('team/app', `sha256:${'7'.repeat(64)}`), upstreamFailure(/^upstream redirecting\/ unavailable: the host it redirected to \(127\.0\.0\.1:\d+\) answered 500$/, 500));
    } finally {
      internal.close();
    }
  });

  test('no answer in time is the upstream being unavailable', async () => {
    const upstream = upstreamOf(url, { name: 'slow/', timeouts: { responseMs: 200 } });
    handle = () => undefined;
    await assert.rejects(upstream.headBlob('team/app', `sha256:${'1'.repeat(64)}`), upstreamFailure(/^upstream slow\/ unavailable: no answer within 0\.2 s$/));
  });

  test('a body that stalls, or breaks off, fails its stream with the upstream’s fault', async () => {
    const upstream = upstreamOf(url, { name: 'stall/', timeouts: { stallMs: 200 } });
    handle = (_path, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write(Buffer.alloc(10));
    };
    const stalled = await upstream.openBlob('team/app', `sha256:${'2'.repeat(64)}`);
    await assert.rejects(copiedChunks(stalled!.stream), upstreamFailure(/^upstream stall\/ unavailable: it sent nothing for 0\.2 s after 10 bytes of blob sha256:2+$/, 200));
    handle = (_path, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write(Buffer.alloc(30), () => res.destroy());
    };
    const broken = await upstream.openBlob('team/app', `sha256:${'3'.repeat(64)}`);
    await assert.rejects(copiedChunks(broken!.stream), upstreamFailure(/^upstream stall\/ unavailable: (the transfer broke off|the connection closed) after 30 bytes of blob sha256:3+$/));
  });

  test('a caller’s abort mid-body ends the stream with the abort, not the upstream’s failure', async () => {
    const upstream = upstreamOf(url, { timeouts: { stallMs: 5_000 } });
    handle = (_path, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write(Buffer.alloc(10));
    };
    const controller = new AbortController();
    const blob = await upstream.openBlob('team/app', `sha256:${'7'.repeat(64)}`, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(copiedChunks(blob!.stream), (err: Error) => err.name === 'AbortError');
  });

  test('a slow reader is not a stalled upstream', async () => {
    const upstream = upstreamOf(url, { timeouts: { stallMs: 100 } });
    const body = Buffer.alloc(4 * 1024 * 1024, 7);
    handle = (_path, res) => res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    const blob = await upstream.openBlob('team/app', `sha256:${'4'.repeat(64)}`);
    let size = 0;
    for await (const chunk of blob!.stream) {
      size += (chunk as Buffer).length;
      if (size < 200_000) await new Promise((resolve) => setTimeout(resolve, 150));
    }
    assert.equal(size, body.length);
  });

  test('a manifest larger than registry.maxManifestBytes, or a tag whose bytes miss Docker-Content-Digest, is refused', async () => {
    const upstream = new RegistryUpstream({ name: 'big/', url, client: new RegistryClient(), maxManifestBytes: 1024 });
    handle = (_path, res) => res.writeHead(200, { 'content-type': mediaTypes.ociManifest }).end(Buffer.alloc(2048, 32));
    await assert.rejects(upstream.getManifest('team/app', 'v1'), upstreamFailure(/^upstream big\/ unavailable: it sent a manifest team\/app:v1 larger than 1024 bytes$/));
    const body = Buffer.from('{"schemaVersion":2}');
    const claimed = `sha256:${'5'.repeat(64)}`;
    handle = (_path, res) => res.writeHead(200, { 'content-type': mediaTypes.ociManifest, 'docker-content-digest': claimed }).end(body);
    await assert.rejects(upstream.getManifest('team/app', 'v1'), upstreamFailure(new RegExp(`^upstream big/ sent content that does not match ${claimed}$`)));
    handle = (_path, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    assert.deepEqual(await upstream.getManifest('team/app', 'v1'), { digest: digestOf(body), mediaType: 'application/json', body });
  });

});
