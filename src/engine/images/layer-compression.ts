/*
 * The one place that knows archive compressions: what a stream's first bytes say it is, and the stream that undoes
 * it. moby accepts plain, gzip, bzip2 and xz for import, load and build contexts (pkg/archive DecompressStream),
 * and zstd for layers; so do we. gzip and zstd run in node:zlib; bzip2 and xz through Debian's tools, as children
 * owned by the same pipeline (their exit status and stderr become the stream's error). Everything streams.
 */
import { existsSync } from 'node:fs';
import { Duplex, Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { unexpectedEof } from '../../base/archive-fault.ts';
import { Fault, isFault } from '../../base/fault.ts';
import { readBlobBytes } from '../../store/blob-bytes.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { FilterProcess } from './filter-process.ts';

export const compressions = ['none', 'gzip', 'zstd', 'bzip2', 'xz'] as const;
export type LayerCompression = (typeof compressions)[number];

/** Enough bytes to tell every compression apart (xz's magic is the longest). */
const magicLength = 6;

/** What a stream's first bytes say it is compressed with (a media type may not say, or may be wrong). */
export function compressionOf(head: Uint8Array): LayerCompression {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  return 'none';
}

/** The compression of a stored blob, from its first bytes. */
export async function blobCompression(blobs: BlobStore, digest: string): Promise<LayerCompression> {
  const head = await readBlobBytes(blobs, digest, { range: { start: 0, end: magicLength - 1 } }).catch(() => undefined);
  return head ? compressionOf(head) : 'none';
}

const toolDirs = ['/usr/bin', '/bin', '/usr/local/bin'];
const tools = { bzip2: 'bzip2', xz: 'xz' } as const;

/** Where Debian's `bzip2` / `xz` is (packages bzip2 and xz-utils); an engine without it refuses that input. */
export function toolPath(tool: keyof typeof tools): string {
  const found = toolDirs.map((dir) => `${dir}/${tools[tool]}`).find((path) => existsSync(path));
  if (!found) throw new Fault('unavailable', `${tool} input needs the ${tool} tool, which is not installed on this host`);
  return found;
}

/** The transform that undoes `compression` (undefined for plain input). */
export function inflaterFor(compression: LayerCompression): Transform | Duplex | undefined {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: 256 * 1024 });
    case 'zstd':
      return createZstdDecompress();
    case 'bzip2':
    case 'xz':
      return new FilterProcess(toolPath(compression), ['-d', '-c'], { name: compression });
    case 'none':
      return undefined;
  }
}

export interface DecompressOptions {
  /** Compressions passed through as they are (an import stores gzip and zstd layers as sent). */
  keep?: readonly LayerCompression[];
  /** Told what the first bytes said, before any output. */
  onDetect?: (compression: LayerCompression) => void;
}

/**
 * A Duplex that sniffs what is written to it and reads back the decompressed bytes: put it in a pipeline between
 * an archive and its reader. A corrupt or truncated stream is an `invalid-argument` Fault of that pipeline.
 */
export function decompressStream(options: DecompressOptions = {}): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    const chunks = source[Symbol.asyncIterator]();
    const head = await readHead(chunks);
    const compression = compressionOf(head);
    options.onDetect?.(compression);
    const whole = async function* () {
      if (head.length) yield head;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    };
    const inflater = options.keep?.includes(compression) ? undefined : inflaterFor(compression);
    if (!inflater) return yield* whole();
    const feeding = pipeline(Readable.from(whole()), inflater);
    feeding.catch(() => undefined);
    try {
      yield* inflater;
      await feeding;
    } catch (err) {
      throw decompressionFault(err, compression);
    }
  });
}

async function readHead(chunks: AsyncIterator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < magicLength) {
    const next = await chunks.next();
    if (next.done) break;
    parts.push(next.value);
    length += next.value.length;
  }
  return Buffer.concat(parts);
}

/** How each decompressor says its input ended early: zlib's code (gzip, zstd), the tools' own words on stderr. */
const endedEarly: Record<LayerCompression, (err: Error & { code?: unknown }) => boolean> = {
  none: () => false,
  gzip: (err) => err.code === 'Z_BUF_ERROR',
  zstd: (err) => err.code === 'Z_BUF_ERROR',
  bzip2: (err) => isFault(err, 'invalid-argument') && /^bzip2: Compressed file ends unexpectedly/.test(err.message),
  xz: (err) => isFault(err, 'invalid-argument') && /^xz: .*Unexpected end of input/.test(err.message),
};

/**
 * A stream that ends early is Go's `unexpected EOF` whatever the compression, as moby's readers say (the tool's own
 * words stay in the cause); zlib and zstd say what else was wrong through their codes; anything else is not the
 * input's fault.
 */
function decompressionFault(err: unknown, compression: LayerCompression): unknown {
  if (err instanceof Error && endedEarly[compression](err)) return new Fault('invalid-argument', unexpectedEof, { cause: err });
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^(Z_|ZSTD_)/.test(code)) {
    return new Fault('invalid-argument', `invalid ${compression} stream: ${(err as Error).message}`, { cause: err });
  }
  return err;
}
