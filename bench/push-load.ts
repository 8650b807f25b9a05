import { createHash, randomBytes } from 'node:crypto';

/** Blob pushes into one repository of a running registry: `lanes` streams, each blob `mib` MiB and distinct. */
export interface PushLoad {
  url: string;
  repository: string;
  mib: number;
  lanes: number;
}

export interface PushResult {
  blobs: number;
  seconds: number;
  mibPerSecond: number;
}

interface Push {
  start: number;
  end: number;
  bytes: number;
}

/**
 * Pushes `count` blobs over the lanes, or, with `while`, keeps every lane pushing until that work settles (at
 * most `count` blobs): throughput over the work's window, each push counted for the part of it inside the window.
 */
export async function pushThroughput(load: PushLoad, options: { count: number; while?: () => Promise<void> }): Promise<PushResult> {
  const bodyOf = distinctBodies(load.mib);
  const pushes: Push[] = [];
  let next = 0;
  let windowEnd: number | undefined;
  const windowStart = performance.now();
  const work = options.while?.().finally(() => (windowEnd = performance.now()));
  const lane = async () => {
    while (next < options.count && (work === undefined || windowEnd === undefined)) {
      const { blob, digest } = bodyOf(next++);
      const start = performance.now();
      await pushBlob(load, blob, digest);
      pushes.push({ start, end: performance.now(), bytes: blob.size });
    }
  };
  await Promise.all([...Array.from({ length: load.lanes }, lane), work]);
  if (work) return summarize(pushes, windowStart, windowEnd ?? performance.now());
  return summarize(pushes, Math.min(...pushes.map((p) => p.start)), Math.max(...pushes.map((p) => p.end)));
}

function summarize(pushes: Push[], from: number, to: number): PushResult {
  let bytes = 0;
  for (const p of pushes) {
    const overlap = Math.min(p.end, to) - Math.max(p.start, from);
    if (overlap > 0) bytes += (p.bytes * overlap) / (p.end - p.start);
  }
  const seconds = (to - from) / 1000;
  return { blobs: pushes.length, seconds, mibPerSecond: bytes / 2 ** 20 / seconds };
}

/**
 * Blob n is one random `mib` MiB buffer followed by n as 8 bytes: the buffer is hashed once and each digest
 * continues a copy of that hash state, so making a distinct blob costs the client next to nothing.
 */
function distinctBodies(mib: number): (n: number) => { blob: Blob; digest: string } {
  const base = randomBytes(mib * 2 ** 20);
  const prefix = createHash('sha256').update(base);
  return (n) => {
    const suffix = Buffer.alloc(8);
    suffix.writeBigUInt64BE(BigInt(n));
    return { blob: new Blob([base, suffix]), digest: `sha256:${prefix.copy().update(suffix).digest('hex')}` };
  };
}

/** POST opens the session, PUT sends the whole body and the digest (what docker does for a layer, in one request). */
async function pushBlob(load: PushLoad, blob: Blob, digest: string): Promise<void> {
  const opened = await fetch(`${load.url}/v2/${load.repository}/blobs/uploads/`, { method: 'POST' });
  await opened.arrayBuffer();
  if (opened.status !== 202) throw new Error(`POST upload: ${opened.status}`);
  const location = new URL(opened.headers.get('location') ?? '', load.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: blob, headers: { 'content-type': 'application/octet-stream' } });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`PUT upload: ${put.status} ${text}`);
}
