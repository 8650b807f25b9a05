import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Fault } from './fault.ts';
import { parseGoDuration } from './go-parse.ts';
import { validateMirror } from './registry-mirror.ts';

const aclRule = z.strictObject({
  match: z
    .strictObject({
      account: z.string().optional(),
      name: z.string().optional(),
      ip: z.string().optional(),
    })
    .default({}),
  actions: z.array(z.string()),
  comment: z.string().optional(),
});

const goDuration = (fallback: string) =>
  z.string().refine((text) => parseGoDuration(text) !== undefined, { message: 'expected a Go duration such as 500ms, 1s or 1m30s' }).default(fallback);

const registryMirror = z.string().transform((text, ctx) => {
  try {
    return validateMirror(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** distribution's `notifications.endpoints[]`, camelCased; `maxQueued` is wharf's (the queue is on disk). */
const notificationEndpoint = z.strictObject({
  name: z.string().min(1),
  url: z.string().refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), { message: 'expected an http or https URL' }),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  timeout: goDuration('1s'),
  threshold: z.number().int().positive().default(10),
  backoff: goDuration('1s'),
  ignoredMediaTypes: z.array(z.string()).default([]),
  ignore: z
    .strictObject({
      mediaTypes: z.array(z.string()).default([]),
      actions: z.array(z.enum(['push', 'pull', 'delete', 'mount'])).default([]),
    })
    .prefault({}),
  disabled: z.boolean().default(false),
  maxQueued: z.number().int().nonnegative().default(1_000_000),
});

const validRegex = z.string().refine((text) => {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}, { message: 'expected a regular expression' });

/** A tag that may never move nor be deleted (src/registry/retention/immutable-tags.ts). */
const immutableTagRule = z.strictObject({ repository: z.string().min(1), tag: validRegex });

/** What `wharf retention` deletes in the repositories matching `repository` (src/registry/retention/). */
const retentionRule = z.strictObject({
  repository: z.string().min(1),
  keepLast: z.number().int().nonnegative().optional(),
  keepTags: validRegex.optional(),
  untaggedOlderThan: z.string().refine((text) => parseGoDuration(text) !== undefined, { message: 'expected a Go duration such as 24h or 168h' }).optional(),
});

/** A mirror's upstream: the root of a registry over http or https (the scheme is used as given). */
const upstreamUrl = z.string().refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol) && /^\/?$/.test(new URL(text).pathname) && !new URL(text).search && !new URL(text).username, {
  message: 'expected the http or https URL of a registry root (no path, query or credentials in it)',
});

/** distribution-spec name components, each followed by '/': what a repository name may start with ('' for all). */
const repositoryPrefix = z.string().regex(/^(?:[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*\/)*$/, {
  message: "expected '' or repository path components each ending in '/', such as 'hub/'",
});

const proxyUpstream = z.strictObject({
  prefix: repositoryPrefix,
  url: upstreamUrl,
  username: z.string().default(''),
  password: z.string().default(''),
  /** PEM CA certificates trusted for this upstream's https, besides Node's bundled roots. */
  caFile: z.string().default(''),
})
  .refine((u) => u.caFile === '' || !URL.canParse(u.url) || new URL(u.url).protocol === 'https:', {
    message: 'a CA file is for an https upstream; this url is plain http',
    path: ['caFile'],
  })
  .refine((u) => u.password === '' || u.username !== '', { message: 'a password is sent only with a username, which is not set', path: ['password'] });

/** The pull-through cache (src/registry/mirror/): distribution's `proxy`, and many upstreams by name prefix. */
const proxyConfig = z
  .strictObject({
    remoteUrl: z.union([z.literal(''), upstreamUrl]).default(''),
    username: z.string().default(''),
    password: z.string().default(''),
    upstreams: z
      .array(proxyUpstream)
      .superRefine((list, ctx) => {
        const twice = list.find((u, i) => list.findIndex((v) => v.prefix === u.prefix) !== i);
        if (twice) ctx.addIssue({ code: 'custom', message: `two upstreams have the prefix '${twice.prefix}'` });
      })
      .default([]),
    tagTtlSeconds: z.number().int().nonnegative().default(300),
    expiry: z.strictObject({ unusedDays: z.number().int().nonnegative().default(7) }).prefault({}),
  })
  .refine((proxy) => proxy.remoteUrl === '' || !proxy.upstreams.some((u) => u.prefix === ''), {
    message: "registry.proxy.remoteUrl and registry.proxy.upstreams with prefix '' both name the default upstream: keep one",
  })
  .refine((proxy) => proxy.remoteUrl !== '' || (proxy.username === '' && proxy.password === ''), {
    message: 'registry.proxy.username and password are the credentials of registry.proxy.remoteUrl, which is not set',
  })
  .refine((proxy) => proxy.password === '' || proxy.username !== '', { message: 'a password is sent only with a username, which is not set', path: ['password'] });

export const configSchema = z.strictObject({
  /** Data root: blobs/, ingest/, meta.db, engine/ */
  root: z.string().default('/var/lib/wharf'),
  /** Where blobs and ingests are kept (src/main/open-blob-store.ts). */
  storage: z
    .strictObject({
      /** `filesystem`: under `root` (blobs/, ingest/); `s3`: an S3-compatible bucket (storage.s3). */
      driver: z.enum(['filesystem', 's3']).default('filesystem'),
      /** The bucket of `driver: s3` (src/store/s3-driver.ts), as distribution's `storage.s3`. */
      s3: z
        .strictObject({
          endpoint: z.string().refine((url) => url === '' || /^https?:\/\/./.test(url), { message: 'expected empty (AWS) or an http(s):// URL' }).default(''),
          region: z.string().min(1).default('us-east-1'),
          bucket: z.string().default(''),
          prefix: z.string().default(''),
          accessKey: z.string().default(''),
          secretKey: z.string().default(''),
          forcePathStyle: z.boolean().default(false),
          chunkSize: z.number().int().min(5 * 1024 * 1024).max(5 * 1024 ** 3).default(10 * 1024 * 1024),
          redirect: z
            .strictObject({
              enabled: z.boolean().default(false),
              expiresSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(1200),
            })
            .prefault({}),
        })
        .prefault({}),
    })
    .refine((storage) => storage.driver !== 's3' || storage.s3.bucket !== '', { message: 'storage.s3.bucket is required with storage.driver s3', path: ['s3', 'bucket'] })
    .prefault({}),
  /** Where the metadata (repositories, tags, users, v1 index) lives (src/main/open-meta.ts). */
  meta: z
    .strictObject({
      /** Empty: SQLite at <root>/meta.db; `postgres://…`: a PostgreSQL database shared by every replica. */
      url: z.string().refine((url) => url === '' || /^postgres(ql)?:\/\/./.test(url), { message: 'expected empty (SQLite) or a postgres:// URL' }).default(''),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  registry: z
    .strictObject({
      enabled: z.boolean().default(true),
      addr: z.string().default('127.0.0.1:5000'),
      /** Public base URL used in Location headers and token realms; derived from the request when empty. */
      publicUrl: z.string().default(''),
      maxManifestBytes: z.number().int().positive().default(4 * 1024 * 1024),
      tls: z.strictObject({ cert: z.string().default(''), key: z.string().default('') }).prefault({}),
      /** distribution's upload purging: abandoned uploads and ingests older than `ageSeconds` are removed. */
      uploadPurging: z
        .strictObject({
          enabled: z.boolean().default(true),
          ageSeconds: z.number().int().positive().default(7 * 24 * 3600),
          intervalSeconds: z.number().int().positive().default(24 * 3600),
        })
        .prefault({}),
      /** Online garbage collection (`wharf gc`, and on a schedule in the registry part when intervalSeconds > 0). */
      gc: z
        .strictObject({
          gracePeriodSeconds: z.number().int().nonnegative().default(3600),
          intervalSeconds: z.number().int().nonnegative().default(0),
          deleteUntagged: z.boolean().default(false),
        })
        .prefault({}),
      /** Prometheus exposition (`GET /metrics`): on the registry's own address, or on a listener of its own. */
      metrics: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** '' = served on `registry.addr` behind the registry's authorizer; else an open listener of its own. */
          addr: z.string().default(''),
          path: z
            .string()
            .regex(/^\/[A-Za-z0-9._~\/-]*$/, 'registry.metrics.path must be an absolute URL path')
            .refine((path) => !/^\/(v1|v2|auth)(\/|$)/.test(path) && path !== '/' && path !== '/health', {
              message: 'registry.metrics.path must not be /, /health or under /v1, /v2 or /auth',
            })
            .default('/metrics'),
          /** Storage bytes and blob count come from a walk of the blob store, reused this long (0 = every scrape). */
          storageCacheSeconds: z.number().int().nonnegative().default(60),
        })
        .prefault({}),
      /** Webhooks as distribution sends them (src/registry/notifications/). */
      notifications: z
        .strictObject({
          endpoints: z
            .array(notificationEndpoint)
            .refine((list) => new Set(list.map((e) => e.name)).size === list.length, { message: 'endpoint names must be unique' })
            .default([]),
        })
        .prefault({}),
      immutableTags: z.array(immutableTagRule).default([]),
      retention: z.array(retentionRule).default([]),
      proxy: proxyConfig.prefault({}),
    })
    .prefault({}),
  auth: z
    .strictObject({
      mode: z.enum(['none', 'htpasswd', 'token']).default('none'),
      realm: z.string().default('wharf'),
      htpasswd: z.string().default(''),
      anonymousPull: z.boolean().default(false),
      /** Let anyone create an account through the legacy `POST /v1/users/` (docker 1.x `docker login` signup). */
      signup: z.boolean().default(false),
      token: z
        .strictObject({
          issuer: z.string().default('wharf'),
          service: z.string().default('wharf-registry'),
          /** Where `wharf auth serve` listens when the token server runs alone. */
          addr: z.string().default('127.0.0.1:5001'),
          /** The token server run alone serves Prometheus metrics on this `HOST:PORT`, no auth; '' = off. */
          metricsAddr: z.string().default(''),
          /** Token endpoint URL as clients reach it; derived from the request when empty. */
          realm: z.string().default(''),
          ttlSeconds: z.number().int().positive().default(300),
          /** Signing key directory; default <root>/auth. */
          keyDir: z.string().default(''),
          /** Algorithm of a key generated on first start; an existing key keeps its own (EC P-256: ES256, RSA: RS256). */
          algorithm: z.enum(['ES256', 'RS256']).default('ES256'),
          /** An external issuer's certificates (PEM): tokens with a libtrust `kid` or `x5c` chain to them are trusted. */
          rootCertBundle: z.string().default(''),
          /** An external issuer's JWKS, an http(s) URL or a file: tokens whose `kid` it holds are trusted. */
          jwks: z.string().default(''),
        })
        .prefault({}),
      acl: z.array(aclRule).default([]),
      rateLimit: z
        .strictObject({
          failures: z.number().int().positive().default(10),
          windowSeconds: z.number().int().positive().default(60),
        })
        .prefault({}),
    })
    .prefault({}),
  engine: z
    .strictObject({
      enabled: z.boolean().default(true),
      socket: z.string().default('/run/wharf/wharf.sock'),
      insecureRegistries: z.array(z.string()).default([]),
      /** dockerd's registry-mirrors: Docker Hub pulls try each in order, then Docker Hub (normalised as moby does). */
      registryMirrors: z.array(registryMirror).default([]),
      /** moby's --metrics-addr: Prometheus exposition of the engine on a TCP listener of its own; '' = off. */
      metricsAddr: z.string().default(''),
      network: z
        .strictObject({
          /** The default `bridge` network's host device (not docker0: a dockerd may run beside us). */
          bridge: z
            .string()
            .min(1)
            .max(15)
            .refine((device) => device !== 'docker0', {
              message: 'engine.network.bridge must not be docker0: that is dockerd\'s bridge, and a dockerd may run beside wharf (the default is wharf0)',
            })
            .default('wharf0'),
          /** The default bridge's subnet (CIDR); '' = the first free subnet of `addressPools`. */
          defaultSubnet: z.string().default(''),
          /** dockerd's default-address-pools: each `base` split into subnets of prefix length `size`, in order. */
          addressPools: z
            .array(z.strictObject({ base: z.string(), size: z.number().int().min(1).max(32) }))
            // moby libnetwork/ipamutils localScopeDefaultNetworks: 172.17-172.31 in /16s, then 192.168 in /20s.
            .default([
              { base: '172.17.0.0/16', size: 16 },
              { base: '172.18.0.0/16', size: 16 },
              { base: '172.19.0.0/16', size: 16 },
              { base: '172.20.0.0/14', size: 16 },
              { base: '172.24.0.0/14', size: 16 },
              { base: '172.28.0.0/14', size: 16 },
              { base: '192.168.0.0/16', size: 20 },
            ]),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The web UI and its JSON API on the registry's server, and automated builds (docs/api.md). */
  hub: z
    .strictObject({
      ui: z.boolean().default(true),
      sessionTtlSeconds: z.number().int().min(60).default(43_200),
      activityKeep: z.number().int().min(100).default(100_000),
      builds: z
        .strictObject({
          enabled: z.boolean().default(true),
          concurrency: z.number().int().min(1).max(16).default(1),
          perRepository: z.number().int().min(1).max(16).default(1),
          queuePerRepository: z.number().int().min(1).max(1000).default(10),
          timeoutSeconds: z.number().int().min(10).default(3600),
          /** A build whose log grows past this fails ("log limit reached"). */
          logMaxBytes: z.number().int().min(1024 * 1024).default(32 * 1024 * 1024),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/**
 * `WHARF_REGISTRY_ADDR=…` sets `registry.addr`: segments split on `_` and matched case-insensitively against the
 * schema's keys, so camelCase keys work too (`WHARF_AUTH_ANONYMOUSPULL=true`). Values parse as JSON when they can.
 */
export function envOverrides(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith('WHARF_') || raw === undefined) continue;
    const path = resolveEnvPath(key.slice('WHARF_'.length).toLowerCase().split('_'));
    if (!path) continue;
    let node = out;
    for (const segment of path.slice(0, -1)) node = (node[segment] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]] = parseEnvValue(raw);
  }
  return out;
}

function resolveEnvPath(segments: string[]): string[] | undefined {
  let shape: z.ZodType | undefined = configSchema;
  const path: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const keys = objectKeys(shape);
    if (!keys) return undefined;
    // Greedy: try the longest run of segments that names a key, so `max_manifest_bytes` finds maxManifestBytes.
    let found: string | undefined;
    let j = segments.length;
    for (; j > i; j--) {
      const candidate = segments.slice(i, j).join('');
      found = keys.find((k) => k.toLowerCase() === candidate);
      if (found) break;
    }
    if (!found) return undefined;
    path.push(found);
    shape = unwrapObject(shape)?.shape[found] as z.ZodType | undefined;
    i = j - 1;
  }
  return path;
}

function unwrapObject(shape: z.ZodType | undefined): z.ZodObject | undefined {
  let current: unknown = shape;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof z.ZodObject) return current;
    const def = (current as { def?: { innerType?: unknown; in?: unknown } }).def;
    current = def?.innerType ?? def?.in;
  }
  return undefined;
}

function objectKeys(shape: z.ZodType | undefined): string[] | undefined {
  const obj = unwrapObject(shape);
  return obj ? Object.keys(obj.shape) : undefined;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export interface LoadConfigOptions {
  file?: string;
  env?: Record<string, string | undefined>;
  /** Command-line flags, applied last. */
  overrides?: ConfigInput;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const fromFile = options.file ? (parseYaml(readFileSync(options.file, 'utf8')) ?? {}) : {};
  const merged = deepMerge(deepMerge(fromFile, envOverrides(options.env ?? {})), options.overrides ?? {});
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new Fault('invalid-argument', `invalid configuration${options.file ? ` in ${options.file}` : ''}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** One line per problem, naming the key by its dotted path: a typo must stop the start, and say where it is. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .flatMap((issue) => {
      const at = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `unknown key ${at ? `${at}.` : ''}${key}`);
      return [`${at || '(top level)'}: ${issue.message}`];
    })
    .join('; ');
}

function deepMerge(base: unknown, extra: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(extra)) return extra === undefined ? base : extra;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) out[k] = deepMerge(out[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
