import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { Fault } from '../base/fault.ts';
import { jsonOrUndefined } from '../base/json.ts';
import { parseAuthChallenge, type AuthChallenge } from './auth-challenge.ts';
import { answeredFrom, readBody, sendRequest } from './http-request.ts';
import { defaultDomain } from './reference.ts';
import { isInsecureRegistry, normalizeServerAddress, registryHost } from './registry-endpoint.ts';

/** Credentials as docker's AuthConfig carries them (X-Registry-Auth, POST /auth). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface RegistryClientOptions {
  /** Hosts, host:port or IPv4 CIDRs reachable over http or unverified TLS (loopback always is). */
  insecureRegistries?: readonly string[];
  /** Extra CA (PEM) for a host, e.g. from a certs.d directory. */
  caFor?: (host: string) => Promise<Buffer | undefined>;
  userAgent?: string;
  /** dockerd's registry-mirrors for Docker Hub, validated and normalised (base/registry-mirror.ts). */
  registryMirrors?: readonly string[];
}

/** Where a registry answers: its base URL (the scheme is used as is), the CA bundle to trust for https. */
export interface RegistryEndpoint {
  base: URL;
  /** PEM certificates trusted for https; replaces Node's bundled roots (pass them too to add to them). */
  ca?: string | Buffer;
  insecureTls: boolean;
}

/**
 * A Docker Registry HTTP API v2 client: endpoint discovery (https, falling back to http for insecure hosts),
 * the Basic and Bearer token flows, and raw requests whose bodies stay streams.
 */
export class RegistryClient {
  #options: RegistryClientOptions;
  /** insecure host -> the base URL that answered, so the https probe runs once per host. */
  #insecureProbes = new Map<string, Promise<URL>>();

  constructor(options: RegistryClientOptions = {}) {
    this.#options = options;
  }

  /** A session scoped to one repository; tokens are reused across its requests. */
  session(domain: string, repository: string, auth: RegistryAuth = {}, actions: string[] = ['pull']): RegistrySession {
    return new RegistrySession(this, registryHost(domain), auth, `repository:${repository}:${actions.join(',')}`);
  }

  /**
   * A session against a registry whose endpoint is known (a mirror's upstream URL): no discovery, no https probe,
   * plain http when the URL says http.
   */
  sessionAt(endpoint: RegistryEndpoint, repository: string, auth: RegistryAuth = {}, actions: string[] = ['pull']): RegistrySession {
    return new RegistrySession(this, endpoint.base.host, auth, `repository:${repository}:${actions.join(',')}`, endpoint);
  }

  /**
   * moby's LookupPullEndpoints: a Docker Hub pull tries each mirror, in order, before Docker Hub; other registries
   * have none. The scheme is used as given; https is verified unless the host is an insecure registry (loopback
   * is), with the host's certs.d CA, as dockerd configures a mirror's TLS.
   */
  async mirrorEndpoints(domain: string): Promise<RegistryEndpoint[]> {
    if (domain !== defaultDomain) return [];
    return Promise.all(
      (this.#options.registryMirrors ?? []).map(async (mirror) => {
        const base = new URL(mirror);
        const insecureTls = base.protocol === 'https:' && isInsecureRegistry(base.host, this.#options.insecureRegistries ?? []);
        return { base, ca: await this.#options.caFor?.(base.host), insecureTls };
      }),
    );
  }

  /** Checks credentials against a registry (docker login). Throws unauthenticated when they are refused. */
  async login(serverAddress: string, auth: RegistryAuth): Promise<void> {
    const session = new RegistrySession(this, normalizeServerAddress(serverAddress), auth, undefined);
    const res = await session.request('/v2/', { forceAuth: true });
    res.resume();
    if (res.statusCode === 401) throw new Fault('unauthenticated', 'login attempt failed: unauthorized: incorrect username or password');
    if ((res.statusCode ?? 500) >= 400) {
      throw new Fault('unavailable', `login attempt to ${serverAddress} failed with status: ${res.statusCode}`);
    }
  }

  /**
   * Where `host` answers. The CA is read on every call, so a ca.crt dropped into certs.d works without a restart
   * (as with dockerd); only the https-or-http probe of an insecure host is remembered.
   */
  async endpoint(host: string): Promise<RegistryEndpoint> {
    const ca = await this.#options.caFor?.(host);
    if (!isInsecureRegistry(host, this.#options.insecureRegistries ?? [])) return { base: new URL(`https://${host}/`), ca, insecureTls: false };
    let probe = this.#insecureProbes.get(host);
    if (!probe) {
      probe = probeInsecure(host, ca);
      probe.catch(() => this.#insecureProbes.delete(host));
      this.#insecureProbes.set(host, probe);
    }
    const base = await probe;
    return base.protocol === 'https:' ? { base, ca, insecureTls: true } : { base, insecureTls: false };
  }

  get userAgent(): string {
    return this.#options.userAgent ?? 'wharf';
  }
}

/** moby: an insecure registry is tried over TLS without verification, then again over plain http. */
async function probeInsecure(host: string, ca: Buffer | undefined): Promise<URL> {
  const https = new URL(`https://${host}/`);
  try {
    const res = await sendRequest(new URL('/v2/', https), { insecureTls: true, ca, maxRedirects: 0 });
    res.resume();
    return https;
  } catch {
    return new URL(`http://${host}/`);
  }
}

export interface SessionRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Answer the challenge of /v2/ even without a scope (login). */
  forceAuth?: boolean;
  body?: Buffer | Readable;
}

export class RegistrySession {
  readonly host: string;
  #client: RegistryClient;
  #auth: RegistryAuth;
  #scope: string | undefined;
  #authorization: string | undefined;
  #endpoint: RegistryEndpoint | undefined;

  constructor(client: RegistryClient, host: string, auth: RegistryAuth, scope: string | undefined, endpoint?: RegistryEndpoint) {
    this.#client = client;
    this.host = host;
    this.#auth = auth;
    this.#scope = scope;
    this.#endpoint = endpoint;
  }

  #resolveEndpoint(): Promise<RegistryEndpoint> {
    return this.#endpoint ? Promise.resolve(this.#endpoint) : this.#client.endpoint(this.host);
  }

  /** Sends a request, answering one auth challenge (401) with the session's credentials. */
  async request(path: string, options: SessionRequestOptions = {}): Promise<IncomingMessage> {
    const { res: first, endpoint } = await this.#send(path, options);
    // A streamed body is spent: the caller sees the 401 (pushes authenticate on the body-less POST first).
    if (first.statusCode !== 401 || options.body instanceof Readable) return first;
    // Only the registry's own challenge is answered. A 401 from where a redirect led (blob storage, a CDN) or from an
    // upload Location on another host would have the registry's credentials sent there, or to a token realm that
    // host names: the caller sees that 401 as it is.
    if (answeredFrom(first) !== endpoint.base.origin) return first;
    const challenge = parseAuthChallenge(first.headers['www-authenticate'] as string | undefined);
    let authorization: string | undefined;
    try {
      authorization = challenge ? await this.#answer(challenge, endpoint, options.signal) : undefined;
    } catch (err) {
      first.resume();
      throw err;
    }
    if (!authorization) return first;
    first.resume();
    this.#authorization = authorization;
    return (await this.#send(path, options)).res;
  }

  /**
   * The URL and headers a request to `path` goes out with now (the credential the session holds, if any), for a
   * caller that sends it by other means (rawGet) and comes back to `request` for anything but a plain answer.
   */
  async prepare(path: string, extraHeaders: Record<string, string> = {}): Promise<{ url: URL; headers: Record<string, string> }> {
    const { url, headers } = await this.#prepared(path, extraHeaders);
    return { url, headers };
  }

  async #send(path: string, options: SessionRequestOptions): Promise<{ res: IncomingMessage; endpoint: RegistryEndpoint }> {
    const { endpoint, url, headers } = await this.#prepared(path, options.headers ?? {});
    const res = await sendRequest(url, {
      method: options.method,
      headers,
      ca: endpoint.ca,
      insecureTls: endpoint.insecureTls,
      signal: options.signal,
      body: options.body,
    });
    return { res, endpoint };
  }

  /** The endpoint is resolved once per request: it reads the host's CA file (certs.d) each time. */
  async #prepared(path: string, extraHeaders: Record<string, string>): Promise<{ endpoint: RegistryEndpoint; url: URL; headers: Record<string, string> }> {
    const endpoint = await this.#resolveEndpoint();
    const url = new URL(path, endpoint.base);
    const headers: Record<string, string> = { 'user-agent': this.#client.userAgent, ...extraHeaders };
    // An upload Location may name another host: the registry's credentials stay with the registry, and a
    // registry reached over https never sends bytes on over plain http.
    const sameOrigin = url.origin === endpoint.base.origin;
    if (!sameOrigin && endpoint.base.protocol === 'https:' && url.protocol !== 'https:') {
      throw new Fault('unavailable', `registry ${this.host} pointed a request at ${url.origin}, which is not https`);
    }
    if (this.#authorization && sameOrigin) headers.authorization = this.#authorization;
    return { endpoint, url, headers };
  }

  async #answer(challenge: AuthChallenge, endpoint: RegistryEndpoint, signal?: AbortSignal): Promise<string | undefined> {
    const { username, password, registryToken } = this.#auth;
    if (challenge.scheme === 'basic') {
      return username !== undefined ? `Basic ${basic(username, password ?? '')}` : undefined;
    }
    if (challenge.scheme !== 'bearer') return undefined;
    if (registryToken) return `Bearer ${registryToken}`;
    return `Bearer ${await this.#fetchToken(challenge, endpoint, signal)}`;
  }

  /**
   * distribution token flow: GET realm?service=&scope= with Basic credentials when we have them, trusting what the
   * registry's endpoint (the one the challenge came from) trusts.
   */
  async #fetchToken(challenge: AuthChallenge, endpoint: RegistryEndpoint, signal?: AbortSignal): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new Fault('unavailable', `registry ${this.host} sent a Bearer challenge without a realm`);
    const url = URL.parse(realm);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new Fault('unavailable', `registry ${this.host} sent a Bearer challenge whose realm is not an http(s) URL`);
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const scope = this.#scope ?? challenge.params.scope;
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.#client.userAgent };
    const { username, password } = this.#auth;
    if (username !== undefined) {
      headers.authorization = `Basic ${basic(username, password ?? '')}`;
      url.searchParams.set('account', username);
    }
    const res = await sendRequest(url, { headers, ca: endpoint.ca, insecureTls: endpoint.insecureTls, signal });
    const body = await readBody(res, 1024 * 1024);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new Fault('unauthenticated', 'unauthorized: incorrect username or password');
    }
    if (res.statusCode !== 200) throw new Fault('unavailable', `token endpoint ${url.host} answered ${res.statusCode}`);
    const json = jsonOrUndefined(body);
    // Go decodes a JSON null into the empty response: "no token", as any other answer without one.
    const parsed = tokenResponseSchema.safeParse(json === null ? {} : json);
    if (!parsed.success) throw new Fault('unavailable', `token endpoint ${url.host}: unable to decode token response`);
    // docker's client: access_token (OAuth2's name) wins over token when both are there and not empty.
    const token = parsed.data.access_token || parsed.data.token;
    if (!token) throw new Fault('unavailable', `token endpoint ${url.host}: authorization server did not include a token in the response`);
    return token;
  }
}

/** What docker's client decodes of a token server's answer (its Go types: a field of another type fails it). */
const tokenResponseSchema = z.object({
  token: z.string().nullish(),
  access_token: z.string().nullish(),
  expires_in: z.number().int().nullish(),
  issued_at: z.string().nullish(),
});

function basic(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/** The first error of a registry error body (`{"errors":[{code,message}]}`), as `code: message`. */
export function registryErrorText(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first) return `${(first.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${first.message ?? ''}`.trim();
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.toString('utf8').slice(0, 200).trim();
}
