/**
 * Registry memory under a burst of large manifests: `bin/wharf registry serve` (a real child process, so its
 * RSS is the server's alone) takes N PUT + GET of ~3.5 MiB OCI manifests, C at a time; VmRSS is read from /proc
 * before, during, right after and after an idle pause. Run it with and without the malloc setting of bin/wharf:
 *
 *   node bench/manifest-memory.ts [--manifests 200] [--concurrency 4] [--idle-seconds 10] [--wharf-env K=V ...]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnWharfProcess } from '../test/support/wharf.ts';

const { values } = parseArgs({
  options: {
    manifests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '4' },
    'idle-seconds': { type: 'string', default: '10' },
    'wharf-env': { type: 'string', multiple: true, default: [] },
  },
});
const total = Number(values.manifests);
const concurrency = Number(values.concurrency);
const env = Object.fromEntries(values['wharf-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const manifestType = 'application/vnd.oci.image.manifest.v1+json';

const root = mkdtempSync(join(tmpdir(), 'wharf-manifest-memory-'));
const wharf = await spawnWharfProcess({ root, env });
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${wharf.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const rows: [string, number][] = [];
const sample = (label: string) => rows.push([label, rssMiB()]);

try {
  const config = await pushBlob('bench/memory', Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
  const layer = await pushBlob('bench/memory', randomBytes(1024));
  sample('idle');
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      await putAndGet(i, config, layer);
      if (i === Math.floor(total / 2)) sample('during');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  sample('after the burst');
  await new Promise((resolve) => setTimeout(resolve, Number(values['idle-seconds']) * 1000));
  sample(`after ${values['idle-seconds']} s idle`);
  console.log(`${total} x 3.5 MiB manifests, ${concurrency} at a time, env ${JSON.stringify(env)}\n`);
  console.log('| when | registry RSS MiB |\n| --- | ---: |');
  for (const [label, mib] of rows) console.log(`| ${label} | ${mib.toFixed(1)} |`);
} finally {
  await wharf.stop();
  rmSync(root, { recursive: true, force: true });
}

async function pushBlob(repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const res = await fetch(`${wharf.url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data });
  if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
  return { digest, size: data.length };
}

async function putAndGet(i: number, config: { digest: string; size: number }, layer: { digest: string; size: number }): Promise<void> {
  const pad = randomBytes(1792 * 1024).toString('hex');
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: manifestType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    annotations: { pad },
  });
  const url = `${wharf.url}/v2/bench/memory/manifests/t${i}`;
  const put = await fetch(url, { method: 'PUT', body, headers: { 'content-type': manifestType } });
  if (put.status !== 201) throw new Error(`manifest PUT: ${put.status} ${await put.text()}`);
  const get = await fetch(url, { headers: { accept: manifestType } });
  if (get.status !== 200) throw new Error(`manifest GET: ${get.status}`);
  await get.arrayBuffer();
}
