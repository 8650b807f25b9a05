/*
 * ADD of an http(s) URL as moby's classic builder does it (copy.go downloadSource): the answer is streamed to a
 * file of its own under the step's scratch directory (mode 0600, never extracted), named after the URL path's
 * last segment, else Content-Disposition's filename; its mtime is the answer's Last-Modified (the epoch without
 * one). An answer of 400 or more fails with moby's "failed to GET <url> with status <status>: <body>".
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { getWithStatusError } from './http-get.ts';

/** The name moby gives a download it cannot name (and refuses when the destination is a directory). */
export const unnamedFilename = '__unnamed__';

export interface Download {
  /** The directory holding the file alone (remove it when done). */
  dir: string;
  /** The host path of the file. */
  path: string;
  /** The name from the URL or Content-Disposition; '' when there is none (the file is then `__unnamed__`). */
  name: string;
}

/** Downloads `url` into a new directory under `scratchDir`. */
export async function downloadSource(url: string, scratchDir: string, signal?: AbortSignal): Promise<Download> {
  const answer = await getWithStatusError(url, signal);
  const name = downloadName(url, answer.headers.get('content-disposition'));
  const dir = await mkdtemp(join(scratchDir, 'add-url-'));
  const path = join(dir, name || unnamedFilename);
  const body = answer.body ? Readable.fromWeb(answer.body as WebReadableStream<Uint8Array>) : Readable.from([]);
  await pipeline(body, createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal });
  const modified = Date.parse(answer.headers.get('last-modified') ?? '');
  const mtime = new Date(Number.isNaN(modified) ? 0 : modified);
  await utimes(path, mtime, mtime);
  return { dir, path, name };
}

/** moby's getFilenameForDownload: the URL path's last segment, else Content-Disposition's filename, else ''. */
export function downloadName(url: string, contentDisposition: string | null): string {
  const path = safeDecode(new URL(url).pathname);
  if (path && !path.endsWith('/')) {
    const base = posix.basename(path);
    if (base) return base;
  }
  const filename = contentDisposition?.match(/(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i);
  const value = filename ? (filename[1]?.replace(/\\(.)/g, '$1') ?? filename[2] ?? '') : '';
  return value && !value.endsWith('/') ? posix.basename(value) : '';
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
