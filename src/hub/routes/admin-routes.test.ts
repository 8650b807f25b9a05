import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Identity } from '../../auth/authorizer.ts';
import { loadConfig } from '../../base/config.ts';
import { createLogger } from '../../base/log.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import { SqliteGcRunStore } from '../../meta/sqlite-gc-run-store.ts';
import { SqliteMetadataStore } from '../../meta/sqlite-metadata-store.ts';
import type { CollectResult } from '../../registry/gc/garbage-collector.ts';
import type { AclView, GcRunRow, QuotaRow } from '../../web/api-types.ts';
import { GcRuns } from '../admin/gc-runs.ts';
import type { HubDeps } from '../hub-deps.ts';
import { apiTestApp, fixedHubAuth } from '../hub-fixture.ts';
import { registerAclRoutes } from './acl-routes.ts';
import { registerGcRoutes } from './gc-routes.ts';
import { registerQuotasRoutes } from './quotas-routes.ts';

const anonymous: Identity = { admin: false };
const alice: Identity = { account: 'alice', admin: false };
const root: Identity = { account: 'root', admin: true };
const logger = createLogger({ level: 'silent' });
const rules = [
  { match: { account: 'alice' }, actions: ['pull', 'push'], comment: 'alice pushes' },
  { match: { name: 'public/*' }, actions: ['pull'] },
];

describe('the admin API: /acl, /quotas, /gc/runs', () => {
  const db = openDatabase(':memory:');
  const meta = new SqliteMetadataStore(db);
  const gcStore = new SqliteGcRunStore(db);
  const config = loadConfig({ overrides: { root: '/nonexistent', auth: { mode: 'htpasswd', htpasswd: '/nonexistent', anonymousPull: true, acl: rules } } });
  // A collector whose runs end when the test says.
  let finishRun: (result: CollectResult) => void = () => {};
  const collector = { collect: () => new Promise<CollectResult>((resolve) => (finishRun = resolve)) };
  const gc = new GcRuns({ collector, store: gcStore, logger, gracePeriodSeconds: 0, deleteUntagged: false });
  const apps: FastifyInstance[] = [];
  const as = async (identity: Identity) => {
    const deps = { auth: fixedHubAuth(identity), config, stores: { meta } as unknown as HubDeps['stores'], gc };
    const app = await apiTestApp((api) => {
      registerAclRoutes(api, deps);
      registerQuotasRoutes(api, deps);
      registerGcRoutes(api, deps);
    });
    apps.push(app);
    return app;
  };
  after(async () => {
    for (const app of apps) await app.close();
    await gc.close();
  });

  test('every endpoint is for admins: 401 anonymous, 403 a user', async () => {
    const endpoints = [['GET', '/api/v1/acl'], ['GET', '/api/v1/quotas'], ['GET', '/api/v1/gc/runs'], ['POST', '/api/v1/gc/runs']] as const;
    for (const [identity, status, code] of [[anonymous, 401, 'UNAUTHORIZED'], [alice, 403, 'DENIED']] as const) {
      const app = await as(identity);
      for (const [method, url] of endpoints) {
        const res = await app.inject({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
        assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().errors[0].code, code);
      }
    }
    assert.deepEqual(await gc.list(), [], 'nothing started');
  });

  test('GET /acl shows the auth mode, anonymous pull and the rules as configured', async () => {
    const res = await (await as(root)).inject({ method: 'GET', url: '/api/v1/acl' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json() as AclView, { authMode: 'htpasswd', anonymousPull: true, rules });
  });

  test('GET /quotas lists every namespace quota with its usage', async () => {
    await meta.setQuota('team', 1000);
    await meta.setQuota('alpha', 5);
    const res = await (await as(root)).inject({ method: 'GET', url: '/api/v1/quotas' });
    assert.deepEqual(res.json() as { quotas: QuotaRow[] }, { quotas: [{ namespace: 'alpha', limit: 5, used: 0 }, { namespace: 'team', limit: 1000, used: 0 }] });
  });

  test('POST /gc/runs answers 202 with the running row, 409 while it runs; GET lists it finished', async () => {
    const app = await as(root);
    const started = await app.inject({ method: 'POST', url: '/api/v1/gc/runs', payload: { dryRun: true } });
    assert.equal(started.statusCode, 202, started.body);
    const row = started.json() as GcRunRow;
    assert.deepEqual({ ...row, startedAt: '' }, { id: row.id, trigger: 'api', dryRun: true, startedAt: '', finishedAt: null, state: 'running', blobsRemoved: 0, bytesFreed: 0, manifestsRemoved: 0, error: null });
    const again = await app.inject({ method: 'POST', url: '/api/v1/gc/runs' });
    assert.equal(again.statusCode, 409, again.body);
    assert.equal(again.json().errors[0].code, 'CONFLICT');
    finishRun({ manifests: 1, blobs: 2, bytes: 300, kept: 0, recovered: 0 });
    await gc.close();
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/gc/runs' })).json() as { runs: GcRunRow[] };
    assert.equal(listed.runs.length, 1);
    assert.deepEqual([listed.runs[0].id, listed.runs[0].state, listed.runs[0].blobsRemoved, listed.runs[0].bytesFreed, listed.runs[0].manifestsRemoved], [row.id, 'succeeded', 2, 300, 1]);
    assert.ok(listed.runs[0].finishedAt);
  });

  test('POST /gc/runs refuses a body it does not understand', async () => {
    const app = await as(root);
    for (const payload of [{ dryRun: 'yes' }, { deleteUntagged: 1 }, { force: true }, [true]]) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/gc/runs', payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().errors[0].code, 'INVALID');
    }
    assert.equal((await gc.list()).length, 1, 'nothing started');
  });
});
