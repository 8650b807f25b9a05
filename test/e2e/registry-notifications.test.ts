import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { V1Client, type V1PushImage } from '../../src/client/v1/v1-client.ts';
import { openPgPool } from '../../src/meta/pg-pool.ts';
import { sha256, v1Image } from '../../src/registry/v1/test-v1.ts';
import { startTestEngineWithBusybox } from './engine-harness.ts';
import { importBusybox, makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { freePort, waitFor } from '../support/ports.ts';
import { type Postgres, startPostgres } from '../support/postgres.ts';
import { skopeoCopy, skopeoDelete, skopeoInspect } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfProcess, startTestWharf, type TestWharf } from '../support/wharf.ts';

interface ReceivedEvent {
  id: string;
  timestamp: string;
  action: string;
  target: { mediaType?: string; digest?: string; size?: number; length?: number; repository: string; url?: string; tag?: string; fromRepository?: string };
  request: { id: string; addr?: string; host?: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr?: string; instanceID?: string };
}

/**
 * A webhook receiver on a port chosen up front, started late (the registry queues meanwhile). The first POST it
 * gets is answered only after the sender's timeout, so that event is delivered twice: receivers deduplicate by id.
 */
class Receiver {
  readonly posts: { headers: IncomingHttpHeaders; events: ReceivedEvent[] }[] = [];
  #server: Server | undefined;
  readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  /** Each event once, in the order first received. */
  unique(): ReceivedEvent[] {
    const seen = new Map<string, ReceivedEvent>();
    for (const post of this.posts) for (const event of post.events) if (!seen.has(event.id)) seen.set(event.id, event);
    return [...seen.values()];
  }

  async start(slowFirstMs: number): Promise<void> {
    let first = true;
    this.#server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        this.posts.push({ headers: request.headers, events: JSON.parse(body).events });
        const delay = first ? slowFirstMs : 0;
        first = false;
        setTimeout(() => response.writeHead(200).end(), delay);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server!.close(resolve));
  }
}

const queuedIn = (root: string) => {
  const db = new DatabaseSync(join(root, 'meta.db'));
  try {
    return Number((db.prepare('SELECT COUNT(*) AS n FROM notification_queue').get() as { n: number }).n);
  } finally {
    db.close();
  }
};

const find = (events: ReceivedEvent[], action: string, repository: string, match: (e: ReceivedEvent) => boolean = () => true) =>
  events.filter((e) => e.action === action && e.target.repository === repository && match(e));

// Real clients: skopeo and the docker CLI through a private dockerd push to wharf while the receiver is down,
// wharf restarts on the same root in between, then the receiver comes up and gets everything.
describe('registry notifications as distribution sends them', () => {
  let tmp: TempDir;
  let dockerd: Dockerd;
  let image: RandomLayerImage;
  let receiver: Receiver;
  let wharf: TestWharf | undefined;
  const instances: string[] = [];
  let manifestDigest: string;

  before(async () => {
    tmp = makeTempDir('wharf-notify-');
    receiver = new Receiver(await freePort());
    [dockerd, image] = await Promise.all([
      startDockerd(),
      makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 512 * 1024 + 3, format: 'oci', tag: 'latest' }),
    ]);
    await importBusybox(dockerd, 'busybox:notify');
  });

  after(async () => {
    await wharf?.close();
    await receiver?.stop();
    await dockerd?.stop();
    tmp?.remove();
  });

  const startWharf = () =>
    startTestWharf({
      root: join(tmp.path, 'root'),
      config: {
        registry: {
          notifications: {
            endpoints: [
              { name: 'hook', url: receiver.url, timeout: '1s', threshold: 3, backoff: '200ms', headers: { Authorization: ['Bearer hook-secret'] } },
              { name: 'off', url: receiver.url, disabled: true },
            ],
          },
        },
      },
    });

  test('events queue on disk while the endpoint is down and survive a restart', async () => {
    wharf = await startWharf();
    await skopeoCopy(image.ref, `docker://${wharf.host}/notify/app:v1`, { preserveDigests: true });
    manifestDigest = String((await skopeoInspect(`docker://${wharf.host}/notify/app:v1`)).Digest);
    assert.equal(manifestDigest, image.manifestDigest);
    await wharf.close();
    wharf = undefined;
    const queued = queuedIn(join(tmp.path, 'root'));
    assert.ok(queued >= 4, `the pushes and the pull are queued (${queued})`);

    wharf = await startWharf();
    const ref = `${wharf.host}/notify/busybox:e2e`;
    await dockerd.dockerOk(['tag', 'busybox:notify', ref]);
    await dockerd.dockerOk(['push', ref]);
    const other = `${wharf.host}/notify/mounted:e2e`;
    await dockerd.dockerOk(['tag', 'busybox:notify', other]);
    assert.match(await dockerd.dockerOk(['push', other]), /Mounted from notify\/busybox/);
    await skopeoDelete(`docker://${wharf.host}/notify/app@${manifestDigest}`);
    assert.ok(queuedIn(join(tmp.path, 'root')) > queued, 'the second run queued behind the first');
    assert.equal(receiver.posts.length, 0);
  });

  test('the endpoint, once up, receives every event once after deduplicating by id, in order', async () => {
    assert.ok(wharf);
    // Answered after the 1 s timeout: the sender tries again, so this event arrives twice.
    await receiver.start(1500);
    await waitFor('the queue to drain', async () => queuedIn(join(tmp.path, 'root')) === 0, 60_000);
    const events = receiver.unique();
    const copies = receiver.posts.length;
    assert.ok(copies > events.length, `at-least-once: the slow answer was retried (${copies} posts, ${events.length} events)`);
    for (const post of receiver.posts) {
      assert.equal(post.headers['content-type'], 'application/vnd.docker.distribution.events.v1+json');
      assert.equal(post.headers.authorization, 'Bearer hook-secret');
      assert.equal(post.events.length, 1);
    }

    // First run (skopeo): the layer, the config and the tagged manifest pushed, the manifest pulled.
    const app = 'notify/app';
    const pushed = find(events, 'push', app);
    assert.deepEqual(pushed.filter((e) => e.target.mediaType === 'application/octet-stream').map((e) => e.target.digest).sort(), [image.layer.digest, image.configDigest].sort());
    const manifestPush = find(events, 'push', app, (e) => e.target.digest === manifestDigest);
    assert.equal(manifestPush.length, 1, 'one push event for the manifest');
    assert.equal(manifestPush[0].target.tag, 'v1');
    assert.equal(manifestPush[0].target.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifestPush[0].target.length, manifestPush[0].target.size);
    assert.match(manifestPush[0].target.url ?? '', new RegExp(`^http://127\\.0\\.0\\.1:\\d+/v2/notify/app/manifests/${manifestDigest}$`));
    assert.equal(manifestPush[0].request.method, 'PUT');
    assert.match(manifestPush[0].request.useragent, /skopeo|containers/i);
    assert.match(manifestPush[0].request.addr ?? '', /^127\.0\.0\.1:\d+$/);
    assert.ok(find(events, 'pull', app, (e) => e.target.digest === manifestDigest && e.target.tag === 'v1').length >= 1, 'skopeo inspect pulled the manifest by tag');

    // Second run (docker push through dockerd): blobs and a tagged schema2 manifest, then a cross-repository mount.
    const dockerManifest = find(events, 'push', 'notify/busybox', (e) => e.target.tag === 'e2e');
    assert.equal(dockerManifest.length, 1);
    assert.equal(dockerManifest[0].target.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.match(dockerManifest[0].request.useragent, /docker\//);
    const mounts = find(events, 'mount', 'notify/mounted');
    assert.ok(mounts.length >= 1, 'the second docker push mounted its layer');
    assert.equal(mounts[0].target.fromRepository, 'notify/busybox');
    assert.equal(find(events, 'push', 'notify/mounted', (e) => e.target.tag === 'e2e').length, 1);
    const deletes = find(events, 'delete', app);
    assert.deepEqual(deletes.map((e) => e.target), [{ repository: app, digest: manifestDigest }]);

    // Two registry processes' worth of events, each source stable within its run, first run's delivered first.
    for (const event of events) if (!instances.includes(event.source.instanceID ?? '')) instances.push(event.source.instanceID ?? '');
    assert.equal(instances.length, 2);
    const runOf = events.map((e) => instances.indexOf(e.source.instanceID ?? ''));
    assert.deepEqual(runOf, [...runOf].sort(), 'per endpoint in order: the first run\'s events before the second\'s');
    for (let i = 1; i < events.length; i++) {
      if (runOf[i] === runOf[i - 1]) assert.ok(events[i].timestamp >= events[i - 1].timestamp, 'in order within a run');
    }
    assert.ok(events.every((e) => typeof e.id === 'string' && e.id.length >= 32));
  });

  test('v1 pushes and pulls (docker 1.x sequences) arrive as the closest v2 events', async () => {
    assert.ok(wharf);
    const before = new Set(receiver.unique().map((e) => e.id));
    const base = v1Image({ 'hello.txt': 'from v1' });
    const top = v1Image({ 'top.txt': 'on top' }, base.id);
    const pushable = (image: typeof base): V1PushImage => ({ id: image.id, json: image.json, layer: () => image.gz });
    await new V1Client(wharf.url).push('notify/legacy', [pushable(base), pushable(top)], 'v1');
    const puller = new V1Client(wharf.url);
    const chain = await puller.pull('notify/legacy', 'v1');
    assert.deepEqual(await buffer(await puller.openLayer(chain[0])), top.gz);
    const fresh = () => receiver.unique().filter((e) => !before.has(e.id) && e.target.repository === 'notify/legacy');
    await waitFor('the v1 events', async () => fresh().length >= 5, 30_000);
    await waitFor('the queue to drain', async () => queuedIn(join(tmp.path, 'root')) === 0, 30_000);
    const events = fresh().map((e) => [e.action, e.target.mediaType, e.target.digest, e.target.tag, e.request.method]);
    const manifest = fresh().find((e) => e.action === 'push' && e.target.tag === 'v1');
    assert.ok(manifest, 'the tag PUT is a manifest push of the bridged schema2 manifest');
    assert.equal(manifest.target.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.deepEqual(events, [
      ['push', 'application/octet-stream', sha256(base.gz), undefined, 'PUT'],
      ['push', 'application/octet-stream', sha256(top.gz), undefined, 'PUT'],
      ['push', manifest.target.mediaType, manifest.target.digest, 'v1', 'PUT'],
      ['pull', manifest.target.mediaType, manifest.target.digest, 'v1', 'GET'],
      ['pull', 'application/octet-stream', sha256(top.gz), undefined, 'GET'],
    ]);
  });

  test('a push by wharf\'s own engine to the co-located registry is notified too', async () => {
    assert.ok(wharf);
    const engine = await startTestEngineWithBusybox(['--change', 'CMD ["sh"]']);
    try {
      const ref = `${wharf.host}/notify/engine:v1`;
      assert.equal((await engine.docker(['tag', 'busybox', ref])).code, 0);
      const push = await engine.docker(['push', ref]);
      assert.equal(push.code, 0, push.stderr);
      const digest = /v1: digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1];
      assert.ok(digest, push.stdout);
      const manifestPush = () => find(receiver.unique(), 'push', 'notify/engine', (e) => e.target.digest === digest);
      await waitFor('the engine push event', async () => manifestPush().length > 0, 30_000);
      assert.equal(manifestPush().length, 1);
      assert.equal(manifestPush()[0].target.tag, 'v1');
      assert.ok(find(receiver.unique(), 'push', 'notify/engine', (e) => e.target.mediaType === 'application/octet-stream').length >= 2, 'its layer and config');
    } finally {
      await engine.close();
    }
  });

  test('a registry killed with SIGKILL right after a push loses no event it acknowledged', async () => {
    const crashReceiver = new Receiver(await freePort());
    const root = join(tmp.path, 'crash-root');
    const config = join(tmp.path, 'crash.yaml');
    const endpoint = { name: 'crash', url: crashReceiver.url, threshold: 1, backoff: '100ms' };
    writeFileSync(config, JSON.stringify({ registry: { notifications: { endpoints: [endpoint] } } }));
    const first = await spawnWharfProcess({ root, args: ['--config', config] });
    try {
      await skopeoCopy(image.ref, `docker://${first.host}/crash/app:v1`, { preserveDigests: true });
    } finally {
      await first.kill9();
    }
    const second = await spawnWharfProcess({ root, args: ['--config', config] });
    try {
      await crashReceiver.start(0);
      await waitFor('the queue to drain', async () => queuedIn(root) === 0, 30_000);
      const events = crashReceiver.unique();
      assert.equal(find(events, 'push', 'crash/app', (e) => e.target.digest === image.manifestDigest && e.target.tag === 'v1').length, 1);
      assert.deepEqual(
        find(events, 'push', 'crash/app', (e) => e.target.mediaType === 'application/octet-stream').map((e) => e.target.digest).sort(),
        [image.layer.digest, image.configDigest].sort(),
      );
    } finally {
      await second.stop();
      await crashReceiver.stop();
    }
  });
});


// Two replicas on one PostgreSQL (one root), one endpoint: the queue is the database's, and one sender at a time
// delivers it, so a receiver that was down gets each event once, whichever replica took the request.
describe('registry notifications with meta.url on PostgreSQL, two replicas', () => {
  let tmp: TempDir;
  let postgres: Postgres;
  let image: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-notify-pg-');
    [postgres, image] = await Promise.all([
      startPostgres(),
      makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 256 * 1024 + 5, format: 'oci', tag: 'latest' }),
    ]);
  });

  after(async () => {
    await postgres?.close();
    tmp?.remove();
  });

  test('a receiver that is down, then up, receives every event once', async () => {
    const receiver = new Receiver(await freePort());
    const config = join(tmp.path, 'pg.yaml');
    // A 10 s timeout (the default is 1 s): a stall of this busy test process must not turn into a resend.
    writeFileSync(config, JSON.stringify({ registry: { notifications: { endpoints: [{ name: 'hook', url: receiver.url, threshold: 2, backoff: '100ms', timeout: '10s' }] } } }));
    const root = join(tmp.path, 'root');
    const args = ['--config', config, '--meta-url', postgres.url];
    const replicas = [await spawnWharfProcess({ root, args }), await spawnWharfProcess({ root, args })];
    const pool = openPgPool(postgres.url);
    const queued = async () => Number((await pool.query('SELECT COUNT(*) AS n FROM notification_queue')).rows[0].n);
    try {
      const [a, b] = replicas;
      await skopeoCopy(image.ref, `docker://${a.host}/pg/app:v1`, { preserveDigests: true });
      assert.equal(String((await skopeoInspect(`docker://${b.host}/pg/app:v1`)).Digest), image.manifestDigest);
      await skopeoDelete(`docker://${b.host}/pg/app@${image.manifestDigest}`);
      const waiting = await queued();
      assert.ok(waiting >= 5, `pushes through one replica, pull and delete through the other, all queued (${waiting})`);
      assert.equal(receiver.posts.length, 0);

      await receiver.start(0);
      await waitFor('the queue to drain', async () => (await queued()) === 0, 60_000);
      const events = receiver.unique();
      assert.equal(receiver.posts.length, events.length, `each event delivered once (${receiver.posts.length} posts, ${events.length} events)`);
      assert.equal(events.length, waiting);
      const sources = new Set(events.map((e) => e.source.instanceID));
      assert.equal(sources.size, 2, 'events from both replicas');
      assert.equal(find(events, 'push', 'pg/app', (e) => e.target.digest === image.manifestDigest && e.target.tag === 'v1').length, 1);
      assert.deepEqual(
        find(events, 'push', 'pg/app', (e) => e.target.mediaType === 'application/octet-stream').map((e) => e.target.digest).sort(),
        [image.layer.digest, image.configDigest].sort(),
      );
      assert.ok(find(events, 'pull', 'pg/app', (e) => e.target.digest === image.manifestDigest).length >= 1);
      assert.deepEqual(find(events, 'delete', 'pg/app').map((e) => e.target), [{ repository: 'pg/app', digest: image.manifestDigest }]);
    } finally {
      for (const replica of replicas) await replica.stop();
      await pool.close();
      await receiver.stop();
    }
  });
});
