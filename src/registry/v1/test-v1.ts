import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createAuthServices } from '../../auth/create-authorizer.ts';
import type { IndexTokens } from '../../auth/index-tokens.ts';
import { type Config, type ConfigInput, loadConfig } from '../../base/config.ts';
import { createLogger, type Logger } from '../../base/log.ts';
import { zodOnlySchemas } from '../../base/zod-only-schemas.ts';
import { openDatabase, runAtomically } from '../../meta/sqlite-database.ts';
import { SqliteMetadataStore } from '../../meta/sqlite-metadata-store.ts';
import { SqliteUserStore } from '../../meta/sqlite-user-store.ts';
import { SqliteV1Store } from '../../meta/sqlite-v1-store.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { FsDriver } from '../../store/fs-driver.ts';
import type { MetaTransaction } from '../../meta/meta-transaction.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import { SqliteMirrorStore } from '../../meta/sqlite-mirror-store.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { BlobFetches } from '../mirror/blob-fetches.ts';
import { PullThrough } from '../mirror/pull-through.ts';
import { RegistryClient } from '../../client/registry-client.ts';
import { RegistryUpstream } from '../mirror/upstream.ts';
import { Upstreams } from '../mirror/upstreams.ts';
import { RegistryService } from '../registry-service.ts';
import { registerRegistryV2, registryFrameworkErrors } from '../v2/routes.ts';
import { registerRegistryV1, v1Headers } from './routes.ts';

/** v2 + v1 on a temp root with the real auth part, for the in-process tests beside this file. */
export interface TestV1 {
  root: string;
  app: FastifyInstance;
  registry: RegistryService;
  db: DatabaseSync;
  /** The X-Docker-Token signer the routes verify with. */
  indexTokens: IndexTokens;
  /** Listens on 127.0.0.1:0 (once) and answers the base URL. */
  url(): Promise<string>;
  addUser(name: string, password: string, options?: { admin?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** `config.root` puts the data on a directory the caller owns (and keeps); otherwise a temp dir, removed on close. */
export async function startTestV1(config: ConfigInput = {}, options: { logger?: Logger } = {}): Promise<TestV1> {
  const ownsRoot = config.root === undefined;
  const root = config.root ?? (await mkdtemp(join(tmpdir(), 'wharf-v1-')));
  const full = loadConfig({ overrides: { ...config, root, auth: { rateLimit: { failures: 1000 }, ...config.auth } } });
  const db = openDatabase(join(root, 'meta.db'));
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const blobs = new DriverBlobStore({ driver: new FsDriver({ root }) });
  const meta = new SqliteMetadataStore(db);
  const users = new SqliteUserStore(db);
  const auth = await createAuthServices({ config: full, users, logger });
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, requestTimeout: 0, frameworkErrors: registryFrameworkErrors, schemaController: zodOnlySchemas });
  const transaction: MetaTransaction = (work) => runAtomically(db, work);
  const mirror = pullThroughOf({ config: full, blobs, meta, db, transaction, logger });
  if (mirror) app.addHook('onClose', async () => mirror.service.close());
  const registry = registerRegistryV2(app, { blobs, meta, authorizer: auth.authorizer, config: full, logger, baseHeaders: { 'x-docker-encrypt': v1Headers['x-docker-encrypt'] }, ...mirror });
  registerRegistryV1(app, { registry, blobs, meta, v1: new SqliteV1Store(db), transaction, accounts: auth.accounts, acl: auth.acl, indexTokens: auth.indexTokens, config: full, logger, pullThrough: mirror?.pullThrough });
  await app.ready();
  let listening: Promise<string> | undefined;
  return {
    root,
    app,
    registry,
    db,
    indexTokens: auth.indexTokens,
    url: () => (listening ??= app.listen({ host: '127.0.0.1', port: 0 }).then(() => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)),
    addUser: async (name, password, options = {}) =>
      users.addUser({ name, passwordHash: await bcrypt.hash(password, 4), admin: options.admin ?? false, email: '', createdAt: new Date().toISOString() }),
    async close() {
      await app.close();
      db.close();
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

/** registry.proxy as start-wharf wires it (open-pull-through.ts), when the config names an upstream. */
function pullThroughOf(deps: { config: Config; blobs: BlobStore; meta: MetadataStore; db: DatabaseSync; transaction: MetaTransaction; logger: Logger }): { service: RegistryService; pullThrough: PullThrough } | undefined {
  const { config, blobs, meta, db, transaction, logger } = deps;
  // Plain http upstreams only (no caFile): src/main/open-pull-through.ts' upstreamsFromConfig is out of this layer's reach.
  const client = new RegistryClient({});
  const { proxy, maxManifestBytes } = config.registry;
  const specs = [...proxy.upstreams, ...(proxy.remoteUrl ? [{ prefix: '', url: proxy.remoteUrl, username: proxy.username, password: proxy.password }] : [])];
  const upstreams = new Upstreams(
    specs.map((u) => ({
      prefix: u.prefix,
      upstream: new RegistryUpstream({ name: u.prefix || new URL(u.url).host, url: u.url, client, auth: u.username ? { username: u.username, password: u.password } : {}, maxManifestBytes }),
    })),
  );
  if (!upstreams.enabled) return undefined;
  const mirror = new SqliteMirrorStore(db);
  const service = new RegistryService({ blobs, meta, config, logger, mirror, transaction });
  const pullThrough = new PullThrough({ service, upstreams, fetches: new BlobFetches({ blobs, logger }), mirror, config, logger });
  return { service, pullThrough };
}

/** Files under blobs/ and ingest/, and the row count of every registry and v1 table: what a request could write. */
export async function v1Snapshot(t: TestV1): Promise<{ files: string[]; rows: Record<string, number> }> {
  const files: string[] = [];
  for (const dir of ['blobs', 'ingest']) {
    const entries = await readdir(join(t.root, dir), { recursive: true, withFileTypes: true }).catch(() => []);
    files.push(...entries.filter((e) => e.isFile()).map((e) => relative(t.root, join(e.parentPath, e.name))));
  }
  const rows: Record<string, number> = {};
  for (const table of ['repositories', 'manifests', 'tags', 'blob_links', 'v1_images', 'v1_manifests', 'v1_repository_images', 'v1_image_holders', 'users']) {
    rows[table] = Number((t.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
  }
  return { files: files.sort(), rows };
}

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function basic(user: string, password: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** A tar with one regular file per entry (ustar headers written by hand), closed by two zero blocks. */
export function tarOf(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('14340000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

export interface TestV1Image {
  id: string;
  json: string;
  tar: Buffer;
  /** The layer as docker 1.x uploaded it. */
  gz: Buffer;
  /** X-Docker-Checksum-Payload of the gzipped upload. */
  payload: string;
}

/** A v1 image with a fresh id, one file in its layer, and the json docker 1.x would write. */
export function v1Image(files: Record<string, string>, parent?: string, extra: object = {}): TestV1Image {
  const id = randomBytes(32).toString('hex');
  const json = JSON.stringify({
    id,
    ...(parent ? { parent } : {}),
    created: '2014-06-01T00:00:00Z',
    container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD layer'] },
    config: { Cmd: ['sh'] },
    architecture: 'amd64',
    os: 'linux',
    ...extra,
  });
  const tar = tarOf(files);
  const gz = gzipSync(tar);
  return { id, json, tar, gz, payload: sha256(Buffer.concat([Buffer.from(`${json}\n`), gz])) };
}
