import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Authorizer } from '../../auth/authorizer.ts';
import { NoneAuthorizer } from '../../auth/none-authorizer.ts';
import { type ConfigInput, loadConfig } from '../../base/config.ts';
import { createLogger } from '../../base/log.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { SqliteMetadataStore } from '../../meta/sqlite-metadata-store.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { FsDriver } from '../../store/fs-driver.ts';
import type { RegistryService } from '../registry-service.ts';
import { createRegistryApp } from './app.ts';

/** A v2 registry on a temp dir (DriverBlobStore over FsDriver + SqliteMetadataStore), for the in-process tests beside it. */
export interface TestRegistry {
  root: string;
  app: FastifyInstance;
  registry: RegistryService;
  db: DatabaseSync;
  /** Listens on 127.0.0.1:0 (once) and answers the base URL, for tests that need a real socket. */
  url(): Promise<string>;
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  registry?: ConfigInput['registry'];
  authorizer?: Authorizer;
  /** Wraps the SQLite store (e.g. to add latency as a networked database has); default: the store itself. */
  meta?: (store: MetadataStore) => MetadataStore;
}

export async function startTestRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-v2-'));
  const config = loadConfig({ overrides: { root, registry: options.registry } });
  const db = openDatabase(join(root, 'meta.db'));
  const app = await createRegistryApp({
    config,
    blobs: new DriverBlobStore({ driver: new FsDriver({ root }) }),
    meta: (options.meta ?? ((store) => store))(new SqliteMetadataStore(db)),
    authorizer: options.authorizer ?? new NoneAuthorizer(),
    logger: createLogger({ level: 'silent' }),
  });
  let listening: Promise<string> | undefined;
  return {
    root,
    app,
    registry: (app as FastifyInstance & { registry: RegistryService }).registry,
    db,
    url: () =>
      (listening ??= app.listen({ host: '127.0.0.1', port: 0 }).then(() => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)),
    async close() {
      // A test that stops reading mid-request leaves a connection node:http counts as active; end them all.
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
      db.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Everything a request could have written: files under blobs/ and ingest/, and every registry row. */
export async function storageSnapshot(t: TestRegistry): Promise<{ files: string[]; rows: Record<string, number> }> {
  const files = [...(await listFiles(t.root, join(t.root, 'blobs'))), ...(await listFiles(t.root, join(t.root, 'ingest')))].sort();
  const rows: Record<string, number> = {};
  for (const table of ['repositories', 'manifests', 'tags', 'manifest_children', 'blob_links', 'uploads']) {
    rows[table] = Number((t.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
  }
  return { files, rows };
}

async function listFiles(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
}

export function errorCode(res: { body: string }): string {
  return (JSON.parse(res.body) as { errors: { code: string }[] }).errors[0].code;
}

/** Asserts an answer's status and registry error code together. */
export function assertError(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what} ${res.body}`);
  if (res.headers['content-type'] !== undefined && res.body !== '') assert.equal(errorCode(res), code, what);
}

export async function pushBlob(app: FastifyInstance, repo: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
  const body = Buffer.from(data);
  const digest = digestOf(body);
  const res = await app.inject({
    method: 'POST',
    url: `/v2/${repo}/blobs/uploads/?digest=${digest}`,
    payload: body,
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(res.statusCode, 201, res.body);
  return { digest, size: body.length };
}

export function imageManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[], extra: object = {}): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, ...config },
    layers: layers.map((l) => ({ mediaType: mediaTypes.ociLayerGzip, ...l })),
    ...extra,
  });
}

export async function putManifest(app: FastifyInstance, repo: string, reference: string, body: string, mediaType: string = mediaTypes.ociManifest) {
  return app.inject({ method: 'PUT', url: `/v2/${repo}/manifests/${reference}`, payload: body, headers: { 'content-type': mediaType } });
}

/** Pushes a one-layer image (config + layer + manifest) and answers its parts. */
export async function pushImage(app: FastifyInstance, repo: string, tag: string, extra: object = {}) {
  const config = await pushBlob(app, repo, JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
  const layer = await pushBlob(app, repo, `layer of ${repo}:${tag}`);
  const body = imageManifest(config, [layer], extra);
  const res = await putManifest(app, repo, tag, body);
  assert.equal(res.statusCode, 201, res.body);
  return { digest: res.headers['docker-content-digest'] as string, body, size: Buffer.byteLength(body), config, layer, res };
}
