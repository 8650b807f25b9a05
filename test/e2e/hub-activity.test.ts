import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PgAdvisoryLocks } from '../../src/meta/pg-advisory-locks.ts';
import { PgGcLock } from '../../src/meta/pg-gc-lock.ts';
import { openPgPool } from '../../src/meta/pg-pool.ts';
import type { ActivityList, GcRunRow } from '../../src/web/api-types.ts';
import { makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { type Postgres, startPostgres } from '../support/postgres.ts';
import { runOk } from '../support/run.ts';
import { skopeoCopy, skopeoDelete, skopeoInspect } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const ops = basic('ops', 'ops-secret');
const dev = basic('dev', 'dev-secret');

/** Polls until `check` answers something (activity is written within a second, a GC run in the background). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// Real clients: skopeo pushes, inspects (pulls) and deletes through a whole wharf; the hub's API shows it.
describe('the hub: activity and GC runs from real clients', () => {
  let tmp: TempDir;
  let root: string;
  let wharf: TestWharf;
  let image: RandomLayerImage;

  const api = async <T>(path: string, headers: Record<string, string>, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${wharf.url}/api/v1${path}`, { ...init, headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    return { status: res.status, body: (await res.json()) as T };
  };

  before(async () => {
    tmp = makeTempDir('wharf-hub-activity-');
    root = join(tmp.path, 'root');
    mkdirSync(root);
    const htpasswd = join(tmp.path, 'htpasswd');
    writeFileSync(htpasswd, await runOk('htpasswd', ['-nbB', 'dev', 'dev-secret']));
    await runOk(wharfBin, ['user', 'add', 'ops', '--admin', '--password-stdin', '--root', root], { input: 'ops-secret' });
    image = await makeRandomLayerImage(join(tmp.path, 'image'), { layerBytes: 64 * 1024, format: 'oci', tag: 'latest' });
    wharf = await startTestWharf({ root, config: { auth: { mode: 'htpasswd', htpasswd }, registry: { gc: { gracePeriodSeconds: 0 } } } });
  });

  after(async () => {
    await wharf?.close();
    tmp?.remove();
  });

  test('a push, pulls and a delete by skopeo show up in /api/v1/activity, newest first, pulls coalesced', async () => {
    await skopeoCopy(image.ref, `docker://${wharf.host}/dev/app:v1`, { destCreds: 'dev:dev-secret', preserveDigests: true });
    // At once, so they land in at most two write windows whatever the machine's load.
    await Promise.all([1, 2, 3].map(() => skopeoInspect(`docker://${wharf.host}/dev/app:v1`, { creds: 'dev:dev-secret' })));
    await skopeoDelete(`docker://${wharf.host}/dev/app@${image.manifestDigest}`, { creds: 'ops:ops-secret' });
    const list = await eventually('the delete in the activity', async () => {
      const { status, body } = await api<ActivityList>('/activity?repository=dev/app', ops);
      assert.equal(status, 200, JSON.stringify(body));
      return body.events.some((e) => e.action === 'delete') ? body : undefined;
    });
    // skopeo delete reads the manifest by digest (as ops) before deleting it. The three inspects are one row with
    // a count, two when a write window (a second) ends among them.
    const rows = list.events.map((e) => [e.action, e.repository, e.actor, e.tag, e.digest]);
    const inspects = list.events.filter((e) => e.action === 'pull' && e.actor === 'dev');
    assert.deepEqual(rows, [
      ['delete', 'dev/app', 'ops', null, image.manifestDigest],
      ['pull', 'dev/app', 'ops', null, image.manifestDigest],
      ...inspects.map(() => ['pull', 'dev/app', 'dev', 'v1', image.manifestDigest]),
      ['push', 'dev/app', 'dev', 'v1', image.manifestDigest],
    ]);
    assert.equal(inspects.reduce((sum, e) => sum + e.count, 0), 3, JSON.stringify(inspects));
    assert.ok(inspects.length < 3, `identical pulls coalesced: ${JSON.stringify(inspects)}`);
    assert.ok(list.events.every((e, i) => i === 0 || Date.parse(e.at) <= Date.parse(list.events[i - 1].at)), 'newest first');
    assert.deepEqual((await api<ActivityList>('/activity', ops)).body.events.map((e) => e.id), list.events.map((e) => e.id), 'overall: the same rows');
    assert.equal((await api<ActivityList>('/activity?repository=dev/app', dev)).status, 200, 'a user who may pull reads it');
    assert.equal((await api<ActivityList>('/activity?repository=dev/app', {})).status, 401);
  });

  test('a GC run started through the API and one by `wharf gc` are both listed', async () => {
    assert.equal((await api('/gc/runs', dev, { method: 'POST', body: '{}' })).status, 403);
    const started = await api<GcRunRow>('/gc/runs', ops, { method: 'POST', body: '{}' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.state, 'running');
    const finished = await eventually('the API run to finish', async () => {
      const { body } = await api<{ runs: GcRunRow[] }>('/gc/runs', ops);
      const run = body.runs.find((r) => r.id === started.body.id);
      return run?.state === 'running' ? undefined : run;
    });
    assert.deepEqual([finished.trigger, finished.state, finished.error], ['api', 'succeeded', null]);
    assert.equal(finished.blobsRemoved, 3, "the deleted image's manifest, config and layer");
    assert.ok(finished.bytesFreed > 64 * 1024);
    const out = await runOk(wharfBin, ['gc', '--root', root, '--dry-run']);
    assert.match(out, /would free 0 blobs/);
    const { body } = await api<{ runs: GcRunRow[] }>('/gc/runs', ops);
    assert.deepEqual(body.runs.map((r) => [r.trigger, r.dryRun, r.state]), [['cli', true, 'succeeded'], ['api', false, 'succeeded']]);
  });
});

describe('the hub: scheduled GC runs are recorded', () => {
  test('registry.gc.intervalSeconds runs show up as trigger schedule', async () => {
    const wharf = await startTestWharf({ config: { registry: { gc: { intervalSeconds: 1 } } } });
    try {
      const run = await eventually('a scheduled run', async () => {
        const res = await fetch(`${wharf.url}/api/v1/gc/runs`);
        const { runs } = (await res.json()) as { runs: GcRunRow[] };
        return runs.find((r) => r.state === 'succeeded');
      });
      assert.deepEqual([run.trigger, run.dryRun, run.blobsRemoved], ['schedule', false, 0]);
    } finally {
      await wharf.close();
    }
  });
});

describe('the hub on PostgreSQL (meta.url): activity and GC runs', () => {
  let tmp: TempDir;
  let postgres: Postgres;
  let wharf: TestWharf;
  let image: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-hub-activity-pg-');
    [postgres, image] = await Promise.all([
      startPostgres(),
      makeRandomLayerImage(join(tmp.path, 'image'), { layerBytes: 32 * 1024, format: 'oci', tag: 'latest' }),
    ]);
    wharf = await startTestWharf({ config: { meta: { url: postgres.url } } });
  });

  after(async () => {
    await wharf?.close();
    await postgres?.close();
    tmp?.remove();
  });

  test("a push and a pull are listed; an API run waits for the replicas' GC lock (409 while another holds it)", async () => {
    await skopeoCopy(image.ref, `docker://${wharf.host}/pg/app:v1`, { preserveDigests: true });
    await skopeoInspect(`docker://${wharf.host}/pg/app:v1`);
    const list = await eventually('the pull in the activity', async () => {
      const body = (await (await fetch(`${wharf.url}/api/v1/activity`)).json()) as ActivityList;
      return body.events.length === 2 ? body : undefined;
    });
    assert.deepEqual(list.events.map((e) => [e.action, e.repository, e.actor, e.tag, e.count]), [['pull', 'pg/app', 'anonymous', 'v1', 1], ['push', 'pg/app', 'anonymous', 'v1', 1]]);
    const pool = openPgPool(postgres.url);
    const locks = new PgAdvisoryLocks(pool);
    try {
      const release = await new PgGcLock(locks).tryLock();
      assert.ok(release);
      const refused = await fetch(`${wharf.url}/api/v1/gc/runs`, { method: 'POST' });
      assert.equal(refused.status, 409);
      assert.match(await refused.text(), /another garbage collection is running on this database/);
      const dry = await fetch(`${wharf.url}/api/v1/gc/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"dryRun":true}' });
      assert.equal(dry.status, 202, 'a dry run needs no lock');
      await eventually('the dry run to finish', async () => {
        const { runs } = (await (await fetch(`${wharf.url}/api/v1/gc/runs`)).json()) as { runs: GcRunRow[] };
        return runs[0]?.state === 'succeeded' ? runs : undefined;
      });
      await release();
      const started = await fetch(`${wharf.url}/api/v1/gc/runs`, { method: 'POST' });
      assert.equal(started.status, 202);
      const runs = await eventually('the run to finish', async () => {
        const body = (await (await fetch(`${wharf.url}/api/v1/gc/runs`)).json()) as { runs: GcRunRow[] };
        return body.runs.length === 2 && body.runs[0].state !== 'running' ? body.runs : undefined;
      });
      assert.deepEqual(runs.map((r) => [r.trigger, r.dryRun, r.state, r.blobsRemoved]), [['api', false, 'succeeded', 0], ['api', true, 'succeeded', 0]]);
    } finally {
      await locks.close();
      await pool.close();
    }
  });
});
