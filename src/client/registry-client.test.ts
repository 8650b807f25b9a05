import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { digestOf } from '../oci/digest.ts';
import { mediaTypes } from '../oci/media-types.ts';
import { openBlob, resolveImage } from './image-resolver.ts';
import { readBody } from './http-request.ts';
import { RegistryClient } from './registry-client.ts';

/** A small v2 registry with the distribution token flow, enough to exercise the client end to end. */
function fakeRegistry() {
  const layer = Buffer.from('layer-bytes');
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: digestOf(layer), size: layer.length }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [
        { mediaType: mediaTypes.dockerManifest, digest: `sha256:${'0'.repeat(64)}`, size: 1, platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: mediaTypes.dockerManifest, digest: digestOf(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }),
  );
  const tokenRequests: string[] = [];
  let base = '';
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    if (url.pathname === '/token') {
      tokenRequests.push(`${url.searchParams.get('scope')} ${req.headers.authorization ?? ''}`);
      if (req.headers.authorization !== `Basic ${Buffer.from('alice:secret').toString('base64')}`) return void res.writeHead(401).end();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok' }));
    }
    if (req.headers.authorization !== 'Bearer tok') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="fake",scope="repository:team/app:pull"` });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    const send = (body: Buffer, type: string) => res.writeHead(200, { 'content-type': type }).end(body);
    if (url.pathname === '/v2/') return void send(Buffer.from('{}'), 'application/json');
    if (url.pathname === '/v2/team/app/manifests/latest') return void send(index, mediaTypes.ociIndex);
    if (url.pathname === `/v2/team/app/manifests/${digestOf(manifest)}`) return void send(manifest, mediaTypes.dockerManifest);
    if (url.pathname === `/v2/team/app/blobs/${digestOf(config)}`) return void send(config, 'application/octet-stream');
    if (url.pathname === `/v2/team/app/blobs/${digestOf(layer)}`) {
      // Registries redirect blob reads to storage; the client must follow without leaking the token.
      return void res.writeHead(307, { location: `${base}/storage/layer` }).end();
    }
    if (url.pathname === '/v2/team/app/manifests/missing') {
      return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    }
    res.writeHead(404).end();
  };
  const server: Server = createServer((req, res) => {
    if (req.url === '/storage/layer') {
      assert.equal(req.headers.authorization, 'Bearer tok', 'same host keeps the token');
      return void res.writeHead(200).end(layer);
    }
    handle(req, res);
  });
  return {
    server,
    layer,
    manifest,
    index,
    tokenRequests,
    setBase: (b: string) => (base = b),
  };
}

describe('RegistryClient', () => {
  const registry = fakeRegistry();
  let host = '';

  before(async () => {
    await new Promise<void>((resolve) => registry.server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
    registry.setBase(`http://${host}`);
  });
  after(() => registry.server.close());

  test('resolves a tag through an index to the platform manifest, answering the token challenge', async () => {
    const client = new RegistryClient();
    const session = client.session(host, 'team/app', { username: 'alice', password: 'secret' });
    const resolved = await resolveImage(session, 'team/app', { reference: 'latest', platform: { os: 'linux', architecture: 'amd64' } });
    assert.equal(resolved.repoDigest, digestOf(registry.index));
    assert.equal(resolved.manifestDigest, digestOf(registry.manifest));
    assert.equal(resolved.manifest.layers.length, 1);
    assert.match(registry.tokenRequests[0], /^repository:team\/app:pull Basic /);
    const blob = await openBlob(session, 'team/app', digestOf(registry.layer));
    assert.deepEqual(await readBody(blob), registry.layer);
  });

  test('wrong credentials are reported as unauthenticated', async () => {
    const session = new RegistryClient().session(host, 'team/app', { username: 'alice', password: 'nope' });
    await assert.rejects(resolveImage(session, 'team/app', { reference: 'latest' }), { kind: 'unauthenticated' });
  });

  test('an unknown tag is not-found with the registry’s message', async () => {
    const session = new RegistryClient().session(host, 'team/app', { username: 'alice', password: 'secret' });
    await assert.rejects(resolveImage(session, 'team/app', { reference: 'missing' }), (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'not-found');
      assert.match(err.message, /manifest unknown/);
      return true;
    });
  });

  test('a session at an explicit endpoint uses its scheme as given: no https probe, no fallback', async () => {
    const client = new RegistryClient();
    const session = client.sessionAt({ base: new URL(`http://${host}`), insecureTls: false }, 'team/app', { username: 'alice', password: 'secret' });
    const resolved = await resolveImage(session, 'team/app', { reference: 'latest', platform: { os: 'linux', architecture: 'amd64' } });
    assert.equal(resolved.repoDigest, digestOf(registry.index));
    const https = client.sessionAt({ base: new URL(`https://${host}`), insecureTls: false }, 'team/app');
    await assert.rejects(resolveImage(https, 'team/app', { reference: 'latest' }), { kind: 'unavailable', message: /server gave HTTP response to HTTPS client/ });
  });

  test('login checks credentials with the token endpoint', async () => {
    const client = new RegistryClient();
    await client.login(`http://${host}`, { username: 'alice', password: 'secret' });
    await assert.rejects(client.login(host, { username: 'alice', password: 'bad' }), { kind: 'unauthenticated' });
  });
});

test('a 401 from where a redirect led is not answered: neither the credentials nor a token request go to a realm that host names', async () => {
  const stolen: string[] = [];
  const thief = createServer((req, res) => {
    stolen.push(`${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
  });
  const storage = createServer((_req, res) => {
    const realm = `http://127.0.0.1:${(thief.address() as AddressInfo).port}/steal`;
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="s"` }).end();
  });
  const registry = createServer((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${(storage.address() as AddressInfo).port}/blob` }).end());
  const servers = [thief, storage, registry];
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  try {
    const base = new URL(`http://127.0.0.1:${(registry.address() as AddressInfo).port}`);
    const session = new RegistryClient().sessionAt({ base, insecureTls: false }, 'team/app', { username: 'alice', password: 'secret' });
    const res = await session.request(`/v2/team/app/blobs/sha256:${'a'.repeat(64)}`);
    res.resume();
    assert.equal(res.statusCode, 401, 'the storage host\'s answer, as it is');
    assert.deepEqual(stolen, []);
  } finally {
    for (const server of servers) server.close();
  }
});

test('a blob whose redirect target refuses it is that host\'s failure, named with its status only: not a denied pull, not its page; its 404 is not found', async () => {
  let status = 401;
  const storage = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="http://127.0.0.1:1/x"' });
    res.end('{"errors":[{"code":"DENIED","message":"internal page of the storage host"}]}');
  });
  const registry = createServer((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${(storage.address() as AddressInfo).port}/blob` }).end());
  await Promise.all([storage, registry].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  try {
    const base = new URL(`http://127.0.0.1:${(registry.address() as AddressInfo).port}`);
    const session = new RegistryClient().sessionAt({ base, insecureTls: false }, 'team/app');
    const digest = `sha256:${'a'.repeat(64)}`;
    const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`;
    for (status of [401, 403, 500]) {
      await assert.rejects(openBlob(session, 'team/app', digest), (err: Error & { kind?: string }) => {
        assert.equal(err.kind, 'unavailable', `${status}: ${err}`);
        assert.equal(err.message, `blob ${digest} of team/app: the host it redirected to (${storageHost}) answered ${status}`);
        return true;
      });
    }
    status = 404;
    await assert.rejects(openBlob(session, 'team/app', digest), (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'not-found', `${err}`);
      assert.equal(err.message, `blob ${digest} of team/app not found: the host it redirected to (${storageHost}) answered 404`);
      return true;
    });
  } finally {
    for (const server of [storage, registry]) server.close();
  }
});

test('a manifest that is not a JSON object, or a list whose entries are not, is the registry\'s fault, not a crash', async () => {
  let body = '';
  let type = '';
  const registry = createServer((_req, res) => res.writeHead(200, { 'content-type': type }).end(body));
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  try {
    const base = new URL(`http://127.0.0.1:${(registry.address() as AddressInfo).port}`);
    const session = new RegistryClient().sessionAt({ base, insecureTls: false }, 'team/app');
    const cases: [string, string][] = [
      ['{not json', mediaTypes.dockerManifest],
      ['null', mediaTypes.dockerManifest],
      [JSON.stringify({ mediaType: mediaTypes.ociIndex, manifests: [null, 7] }), mediaTypes.ociIndex],
      [JSON.stringify({ mediaType: mediaTypes.ociIndex, manifests: 'x' }), mediaTypes.ociIndex],
      [JSON.stringify({ mediaType: mediaTypes.ociIndex, manifests: [{ digest: 7, size: 1, platform: { os: 'linux', architecture: 'amd64' } }] }), mediaTypes.ociIndex],
      [JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: { digest: `sha256:${'c'.repeat(64)}`, size: 2 }, layers: [null] }), mediaTypes.dockerManifest],
      [JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: { digest: `sha256:${'c'.repeat(64)}`, size: 2 }, layers: [{ digest: '../x', size: 1 }] }), mediaTypes.dockerManifest],
    ];
    for (const [sent, contentType] of cases) {
      body = sent;
      type = contentType;
      await assert.rejects(resolveImage(session, 'team/app', { reference: 'latest' }), (err: Error & { kind?: string }) => {
        assert.ok(err.kind === 'invalid-argument' || err.kind === 'not-found', `${sent}: ${err}`);
        return true;
      });
    }
  } finally {
    registry.close();
  }
});

test('a token server\'s answer that is not what docker reads, or a realm that is not http(s), is the registry\'s fault, not a crash', async () => {
  let realm = '';
  let tokenBody = '';
  const seen: string[] = [];
  const registry = createServer((req, res) => {
    if (req.url?.startsWith('/token')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(tokenBody);
    seen.push(req.headers.authorization ?? '');
    if (req.headers.authorization === 'Bearer at') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="s"` }).end();
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  try {
    const base = new URL(`http://127.0.0.1:${(registry.address() as AddressInfo).port}`);
    const session = () => new RegistryClient().sessionAt({ base, insecureTls: false }, 'team/app');
    const cases: [string, string, RegExp][] = [
      ['ftp://127.0.0.1/token', '{"token":"t"}', /realm is not an http\(s\) URL/],
      ['not a url', '{"token":"t"}', /realm is not an http\(s\) URL/],
      [`${base.origin}/token`, '{not json', /unable to decode token response/],
      [`${base.origin}/token`, '{"token":{"a":1}}', /unable to decode token response/],
      [`${base.origin}/token`, '{"token":"t","expires_in":"soon"}', /unable to decode token response/],
      [`${base.origin}/token`, 'null', /did not include a token/],
      [`${base.origin}/token`, '{"token":null,"expires_in":60}', /did not include a token/],
    ];
    for (const [sentRealm, sentBody, message] of cases) {
      realm = sentRealm;
      tokenBody = sentBody;
      await assert.rejects(session().request('/v2/'), (err: Error & { kind?: string }) => {
        assert.equal(err.kind, 'unavailable', `${sentRealm} ${sentBody}: ${err}`);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.ok(!seen.some((auth) => auth.startsWith('Bearer ')), 'no token was sent made of a bad answer');
    for (tokenBody of ['{"token":"","access_token":"at"}', '{"token":"t","access_token":"at"}']) {
      const res = await session().request('/v2/');
      res.resume();
      assert.equal(res.statusCode, 200, `${tokenBody}: access_token wins, as in docker's client`);
    }
  } finally {
    registry.close();
  }
});

test('mirrorEndpoints: Docker Hub pulls get the mirrors in order, scheme as given, TLS as dockerd sets it', async () => {
  const client = new RegistryClient({
    registryMirrors: ['http://127.0.0.1:5001/', 'https://127.0.0.1:5002/', 'https://mirror.example.com/', 'https://listed.example.com:8443/'],
    insecureRegistries: ['listed.example.com:8443'],
    caFor: async (host) => (host === 'mirror.example.com' ? Buffer.from('PEM') : undefined),
  });
  const endpoints = await client.mirrorEndpoints('docker.io');
  assert.deepEqual(
    endpoints.map((e) => [e.base.href, e.insecureTls, e.ca?.toString()]),
    [
      ['http://127.0.0.1:5001/', false, undefined],
      // loopback and listed hosts are insecure registries: their https is not verified (moby's isSecureIndex)
      ['https://127.0.0.1:5002/', true, undefined],
      ['https://mirror.example.com/', false, 'PEM'],
      ['https://listed.example.com:8443/', true, undefined],
    ],
  );
  assert.deepEqual(await client.mirrorEndpoints('localhost:5000'), [], 'only Docker Hub has mirrors');
  assert.deepEqual(await new RegistryClient().mirrorEndpoints('docker.io'), []);
});
