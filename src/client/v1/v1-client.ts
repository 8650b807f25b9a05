import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { V1LayerDigester } from '../../oci/v1-layer-digests.ts';
import { v1Paths } from '../../oci/v1-routes.ts';

/** One image to push, oldest first in a chain. */
export interface V1PushImage {
  id: string;
  /** The image json as docker 1.x wrote it (`id` and `parent` inside). */
  json: string;
  /** The layer as uploaded (a gzipped or plain tar), opened when it is sent. */
  layer: () => Readable | Buffer;
}

export interface V1PulledImage {
  id: string;
  json: string;
  /** X-Docker-Size: the layer's size as stored. */
  size: number;
  /** X-Docker-Checksum-Payload, when the registry sent one: the layer is verified against it. */
  checksum?: string;
}

export interface V1ClientOptions {
  credentials?: { username: string; password: string };
  /** Basic on every request, as docker 1.x did for a standalone registry over https. */
  alwaysBasic?: boolean;
  fetch?: typeof fetch;
}

/** One request and its answer, kept in order so callers can check the wire. */
export interface V1Exchange {
  method: string;
  path: string;
  requestHeaders: Record<string, string>;
  status: number;
  headers: Headers;
}

export interface V1Response {
  status: number;
  headers: Headers;
  body: string;
}

type Body = string | Buffer | AsyncIterable<Uint8Array>;

/**
 * The 2014 client as docker 1.x spoke it (registry/session.go): the index first (`X-Docker-Token: true` with
 * Basic), then the registry endpoints it names (X-Docker-Endpoints) with `Authorization: Token …`, the session
 * cookie the registry hands back, checksums computed while the layer streams (TarSum and payload), and
 * 'Image already exists' taken as "skip". Used by wharf's tests and anything that still speaks v1.
 */
export class V1Client {
  readonly log: V1Exchange[] = [];
  readonly #index: URL;
  #registry: string;
  readonly #basic: string | undefined;
  readonly #alwaysBasic: boolean;
  readonly #fetch: typeof fetch;
  readonly #cookies = new Map<string, string>();
  #token: string | undefined;

  constructor(indexUrl: string, options: V1ClientOptions = {}) {
    this.#index = new URL(indexUrl);
    this.#registry = this.#index.origin;
    const { credentials } = options;
    if (credentials) this.#basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    this.#alwaysBasic = options.alwaysBasic ?? false;
    this.#fetch = options.fetch ?? fetch;
  }

  async ping(): Promise<{ version?: string; standalone: boolean; encrypt: string[] }> {
    const res = await this.#ok('GET', v1Paths.ping(), {}, [200]);
    return {
      ...(res.headers.get('x-docker-registry-version') ? { version: res.headers.get('x-docker-registry-version') as string } : {}),
      standalone: res.headers.get('x-docker-registry-standalone') === 'true',
      encrypt: (res.headers.get('x-docker-encrypt') ?? '').split(',').filter(Boolean),
    };
  }

  /** docker 1.x `loginV1`: sign up; when the name is taken (400) or sign-up is closed (401), log in with Basic. */
  async login(email = ''): Promise<'created' | 'logged-in'> {
    if (!this.#basic) throw new Error('login needs credentials');
    const [username, password] = Buffer.from(this.#basic.slice(6), 'base64').toString('utf8').split(/:(.*)/s);
    const signup = await this.request('POST', v1Paths.users(), { body: JSON.stringify({ username, password, email }), headers: { 'content-type': 'application/json' }, auth: false });
    if (signup.status === 201) return 'created';
    if (!(signup.status === 400 && signup.body === '"Username or email already exists"') && signup.status !== 401) {
      throw new Error(`registration: ${signup.status} ${signup.body.slice(0, 200)}`);
    }
    const res = await this.request('GET', v1Paths.users(), { headers: { authorization: this.#basic }, auth: false });
    if (res.status !== 200) throw new Error(res.status === 401 ? 'Wrong login/password, please try again' : `login: ${res.status} ${res.body.slice(0, 200)}`);
    return 'logged-in';
  }

  /** Pushes a chain (oldest first) and tags its last image; returns the ids the registry already had. */
  async push(repository: string, images: V1PushImage[], tags: string | string[], options: { sign?: string } = {}): Promise<{ skipped: string[] }> {
    await this.#startPush(repository, images);
    const skipped: string[] = [];
    const checksums = new Map<string, string>();
    for (const image of images) {
      const checksum = await this.#pushImage(image);
      if (checksum === undefined) skipped.push(image.id);
      else checksums.set(image.id, checksum);
    }
    const top = images[images.length - 1].id;
    for (const tag of typeof tags === 'string' ? [tags] : tags) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.sign ? { 'x-docker-sign': options.sign } : {}) };
      await this.#ok('PUT', v1Paths.tag(repository, tag), { body: JSON.stringify(top), headers, registry: true }, [200, 201]);
    }
    const list = images.filter((image) => checksums.has(image.id)).map((image) => ({ id: image.id, checksum: checksums.get(image.id) }));
    const endpoints = new URL(this.#registry).host;
    await this.#ok('PUT', v1Paths.images(repository), { body: JSON.stringify(list), headers: { 'content-type': 'application/json', 'x-docker-token': 'true', 'x-docker-endpoints': endpoints } }, [204]);
    return { skipped };
  }

  async #startPush(repository: string, images: V1PushImage[]): Promise<void> {
    const body = JSON.stringify(images.map((image) => ({ id: image.id })));
    const res = await this.#ok('PUT', v1Paths.repository(repository), { body, headers: { 'content-type': 'application/json', 'x-docker-token': 'true' } }, [200, 201]);
    this.#followIndex(res);
    if (!res.headers.get('x-docker-endpoints')) throw new Error("Index response didn't contain any endpoints");
  }

  /** Uploads one image unless the registry has it; returns the TarSum sent as its checksum, or undefined if skipped. */
  async #pushImage(image: V1PushImage): Promise<string | undefined> {
    if ((await this.request('GET', v1Paths.image(image.id, 'json'), { registry: true })).status === 200) return undefined;
    const json = await this.request('PUT', v1Paths.image(image.id, 'json'), { body: image.json, headers: { 'content-type': 'application/json' }, registry: true });
    if (alreadyExists(json)) return undefined;
    if (json.status !== 200) throw new Error(`PUT json of ${image.id}: ${json.status} ${json.body.slice(0, 200)}`);
    const digester = new V1LayerDigester(image.json);
    const source = image.layer();
    const [, layer] = await Promise.all([
      pipeline(Buffer.isBuffer(source) ? Readable.from([source]) : source, digester),
      this.request('PUT', v1Paths.image(image.id, 'layer'), { body: digester, headers: { 'content-type': 'application/octet-stream' }, registry: true }),
    ]);
    if (layer.status !== 200) throw new Error(`PUT layer of ${image.id}: ${layer.status} ${layer.body.slice(0, 200)}`);
    const { payload, tarsums } = digester.sums;
    const checksum = tarsums[0] ?? payload;
    const put = await this.request('PUT', v1Paths.image(image.id, 'checksum'), { headers: { 'x-docker-checksum': checksum, 'x-docker-checksum-payload': payload }, registry: true });
    if (put.status !== 200 && !alreadyExists(put)) throw new Error(`PUT checksum of ${image.id}: ${put.status} ${put.body.slice(0, 200)}`);
    return checksum;
  }

  /** Resolves a tag to its chain, newest first, with each image's json; layers stream through openLayer. */
  async pull(repository: string, tag: string): Promise<V1PulledImage[]> {
    this.#followIndex(await this.#ok('GET', v1Paths.images(repository), { headers: { 'x-docker-token': 'true' } }));
    // docker 1.x GetRemoteTag: a single-component name is read under library/.
    const remote = repository.includes('/') ? repository : `library/${repository}`;
    const top = JSON.parse((await this.#ok('GET', v1Paths.tag(remote, tag), { registry: true })).body) as string;
    const ancestry = JSON.parse((await this.#ok('GET', v1Paths.image(top, 'ancestry'), { registry: true })).body) as string[];
    const images: V1PulledImage[] = [];
    for (const id of ancestry) {
      const res = await this.#ok('GET', v1Paths.image(id, 'json'), { registry: true });
      const checksum = res.headers.get('x-docker-checksum-payload');
      images.push({ id, json: res.body, size: Number(res.headers.get('x-docker-size') ?? -1), ...(checksum ? { checksum } : {}) });
    }
    return images;
  }

  /** The layer as stored; for a pulled image, verified against its size and payload checksum as it streams. */
  async openLayer(image: string | V1PulledImage): Promise<Readable> {
    const id = typeof image === 'string' ? image : image.id;
    const res = await this.#send('GET', v1Paths.image(id, 'layer'), { registry: true });
    if (res.status !== 200 || !res.body) throw new Error(`GET layer of ${id}: ${res.status}`);
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    if (typeof image === 'string') return body;
    const verify = verifier(image);
    body.once('error', (err) => verify.destroy(err));
    return body.pipe(verify);
  }

  async search(term: string, page: { n?: number; page?: number } = {}): Promise<{ num_results: number; results: { name: string; description: string }[] }> {
    return JSON.parse((await this.#ok('GET', v1Paths.search(term, page), { headers: { 'x-docker-token': 'true' } })).body);
  }

  /** hub_registry_spec's delete: the index marks it and hands a delete token, the registry deletes, the index closes. */
  async deleteRepository(repository: string): Promise<void> {
    this.#followIndex(await this.#ok('DELETE', v1Paths.repository(repository), { headers: { 'x-docker-token': 'true' } }, [202]));
    await this.#ok('DELETE', v1Paths.repository(repository), { registry: true }, [200]);
    const endpoints = new URL(this.#registry).host;
    await this.#ok('DELETE', v1Paths.repository(repository), { headers: { 'x-docker-endpoints': endpoints }, basic: true }, [200]);
  }

  /** One request with the client's auth and cookies (body read whole); for tests that check the wire. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<V1Response> {
    const res = await this.#send(method, path, options);
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  async #ok(method: string, path: string, options: RequestOptions, expect = [200]): Promise<V1Response> {
    const res = await this.request(method, path, options);
    if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${res.body.slice(0, 200)}`);
    return res;
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    const auth = options.auth === false ? undefined : options.basic && this.#basic ? this.#basic : this.#authorization(headers);
    if (auth && !headers.authorization) headers.authorization = auth;
    if (this.#cookies.size) headers.cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const init: RequestInit & { duplex?: 'half' } = { method, headers };
    if (options.body !== undefined) init.body = options.body as RequestInit['body'];
    if (options.body !== undefined && typeof options.body !== 'string' && !Buffer.isBuffer(options.body)) init.duplex = 'half';
    const res = await this.#fetch(`${options.registry ? this.#registry : this.#index.origin}${path}`, init);
    this.#keepCookies(res.headers);
    this.log.push({ method, path, requestHeaders: headers, status: res.status, headers: res.headers });
    return res;
  }

  /** docker 1.x authTransport: Basic always (standalone over https), or with X-Docker-Token: true; else the token. */
  #authorization(headers: Record<string, string>): string | undefined {
    if (this.#basic && (this.#alwaysBasic || headers['x-docker-token'] === 'true')) return this.#basic;
    return this.#token ? `Token ${this.#token}` : undefined;
  }

  #followIndex(res: V1Response): void {
    const token = res.headers.get('x-docker-token');
    if (token) this.#token = token;
    const endpoint = res.headers.get('x-docker-endpoints')?.split(',')[0]?.trim();
    if (endpoint) this.#registry = `${this.#index.protocol}//${endpoint}`;
  }

  #keepCookies(headers: Headers): void {
    for (const cookie of headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
}

interface RequestOptions {
  body?: Body;
  headers?: Record<string, string>;
  /** To the registry endpoint the index named, instead of the index. */
  registry?: boolean;
  /** false: no Authorization from the client's credentials or token. */
  auth?: boolean;
  /** Basic even without X-Docker-Token (the index's closing call of a delete). */
  basic?: boolean;
}

function alreadyExists(res: V1Response): boolean {
  try {
    return res.status !== 200 && (JSON.parse(res.body) as { error?: string }).error === 'Image already exists';
  } catch {
    return false;
  }
}

/** Passes the layer through, failing at the end when its size or payload checksum is not what the json said. */
function verifier(image: V1PulledImage): Transform {
  const hash = createHash('sha256').update(`${image.json}\n`);
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      if (image.size >= 0 && size !== image.size) return done(new Error(`layer of ${image.id} is ${size} bytes, X-Docker-Size said ${image.size}`));
      const got = `sha256:${hash.digest('hex')}`;
      if (image.checksum && got !== image.checksum) return done(new Error(`layer of ${image.id} does not match its checksum ${image.checksum}`));
      done();
    },
  });
}
