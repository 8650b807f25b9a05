import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importBusybox } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { run, runOk } from '../support/run.ts';
import { destTlsOff, skopeo, skopeoCopy, srcTlsOff, tlsOff } from '../support/skopeo.ts';
import { spawnWharfProcess, startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

// Real clients: docker push through a private dockerd shows the quota refusal; skopeo meets an immutable tag.
describe('quotas and immutable tags through docker and skopeo', () => {
  let dockerd: Dockerd;
  let wharf: TestWharf;
  const quota = (args: string[]) => runOk(wharfBin, ['quota', ...args, '--root', wharf.root]);

  before(async () => {
    [dockerd, wharf] = await Promise.all([
      startDockerd(),
      startTestWharf({ config: { registry: { immutableTags: [{ repository: 'team/**', tag: 'v[0-9]+' }] } } }),
    ]);
    await importBusybox(dockerd, 'busybox:quota');
  });

  after(async () => {
    await dockerd?.stop();
    await wharf?.close();
  });

  test('docker push over the namespace quota fails with the numbers; within it, it succeeds', async () => {
    assert.match(await quota(['set', 'team', '1KB']), /^team: quota 1000 bytes, uses 0/);
    const ref = `${wharf.host}/team/busybox:v1`;
    await dockerd.dockerOk(['tag', 'busybox:quota', ref]);
    const refused = await dockerd.docker(['push', ref]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr + refused.stdout, /denied: quota exceeded: namespace team uses \d+ of 1000 bytes, this push needs \d+ more/);
    assert.match(await quota(['list']), /^NAMESPACE\tUSED\tLIMIT\nteam\t\d+\t1000\n$/);

    await quota(['set', 'team', '100MiB']);
    await dockerd.dockerOk(['push', ref]);
    const [, used] = /team\t(\d+)\t104857600/.exec(await quota(['list'])) ?? [];
    assert.ok(Number(used) > 1000, `usage counted: ${used}`);
    const api = await fetch(`${wharf.url}/v2/_wharf/quota/team`);
    assert.deepEqual(await api.json(), { namespace: 'team', used: Number(used), limit: 104857600 });

    // Full: a new layer does not fit; a push of what the namespace holds still does.
    await quota(['set', 'team', used]);
    await dockerd.dockerOk(['run', '--name', 'grow', '--network', 'none', ref, 'sh', '-c', 'echo more > /more']);
    await dockerd.dockerOk(['commit', 'grow', `${wharf.host}/team/grown:v1`]);
    await dockerd.dockerOk(['rm', 'grow']);
    const full = await dockerd.docker(['push', `${wharf.host}/team/grown:v1`]);
    assert.match(full.stderr + full.stdout, new RegExp(`quota exceeded: namespace team uses ${used} of ${used} bytes`));
    await dockerd.dockerOk(['tag', ref, `${wharf.host}/team/copy:v1`]);
    await dockerd.dockerOk(['push', `${wharf.host}/team/copy:v1`]);
    assert.match(await quota(['rm', 'team']), /team: quota removed/);
    assert.equal((await run(wharfBin, ['quota', 'rm', 'team', '--root', wharf.root])).code, 1);
  });

  test('concurrent docker pushes through two registry processes on one root never end above the quota', async () => {
    // Two `wharf registry serve` on the same root (and meta.db): the check and the link must be one step across them.
    const servers = await Promise.all([spawnWharfProcess({ root: wharf.root }), spawnWharfProcess({ root: wharf.root })]);
    try {
      await dockerd.dockerOk(['tag', 'busybox:quota', `${servers[0].host}/race/base:v1`]);
      await dockerd.dockerOk(['push', `${servers[0].host}/race/base:v1`]);
      const usage = async () => ((await (await fetch(`${servers[1].url}/v2/_wharf/quota/race`)).json()) as { used: number }).used;
      const base = await usage();
      // Four images, each the base and a layer of 300 kB of random bytes (as big gzipped); two fit.
      const refs = await Promise.all([0, 1, 2, 3].map(async (i) => {
        const ref = `${servers[i % 2].host}/race/app${i}:v1`;
        await dockerd.dockerOk(['run', '--name', `race${i}`, '--network', 'none', 'busybox:quota', 'sh', '-c', 'head -c 300000 /dev/urandom > /blob']);
        await dockerd.dockerOk(['commit', `race${i}`, ref]);
        await dockerd.dockerOk(['rm', `race${i}`]);
        return ref;
      }));
      const limit = base + 700_000;
      await quota(['set', 'race', String(limit)]);
      const pushes = await Promise.all(refs.map((ref) => dockerd.docker(['push', ref])));
      const refused = pushes.filter((p) => p.code !== 0);
      assert.ok(refused.length >= 2, `at most two fit: ${pushes.map((p) => p.code).join(',')}`);
      for (const p of refused) assert.match(p.stderr + p.stdout, /denied: quota exceeded: namespace race uses \d+ of \d+ bytes, this push needs \d+ more/);
      const used = await usage();
      assert.ok(used <= limit, `usage ${used} within ${limit}`);
      assert.ok(used > base + 300_000, `one image's layer at least landed: ${used - base}`);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  test('skopeo cannot overwrite nor delete an immutable tag; the same digest again is fine', async () => {
    const ref = `docker://${wharf.host}/team/busybox:v1`;
    await skopeoCopy(ref, ref, { preserveDigests: true });
    const overwrite = await skopeo(['copy', ...srcTlsOff(ref), ...destTlsOff(ref), '--format', 'oci', ref, ref]);
    assert.notEqual(overwrite.code, 0);
    assert.match(overwrite.stderr, /denied: tag team\/busybox:v1 is immutable/);
    const removal = await skopeo(['delete', ...tlsOff(ref), ref]);
    assert.notEqual(removal.code, 0);
    assert.match(removal.stderr, /denied|immutable/);
    // A tag outside the pattern moves freely.
    const latest = `docker://${wharf.host}/team/busybox:latest`;
    await skopeoCopy(ref, latest);
    await skopeoCopy(ref, latest, { format: 'oci' });
  });
});
