/*
 * A build context tar (plain, gzip, bzip2, xz or zstd, as moby's DecompressStream accepts) unpacked into a directory
 * by GNU tar, which keeps members inside it: it strips leading `/` and `../`, refuses names with `..` inside, and
 * defers symlinks whose targets are absolute or climb, so no later member is written through them. One pipeline
 * owns the body, the decompressor and tar; tar's exit status is its error. Nothing is buffered.
 */
import { mkdir } from 'node:fs/promises';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Fault, isFault } from '../../base/fault.ts';
import { FilterProcess } from '../images/filter-process.ts';
import { decompressStream } from '../images/layer-compression.ts';
import { completeTarTrailer } from './tar-trailer.ts';

/**
 * Unpacks `body` into `dir` and returns the names its members had (slash-separated, relative, no trailing `/`):
 * moby hashes a directory the archive named by its header, one it did not (a kept file under an excluded
 * directory) by its bare path, and COPY's history text and cache key follow that.
 */
export async function extractContextTar(body: Readable, dir: string, signal?: AbortSignal): Promise<Set<string>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let bytes = 0;
  let inputEnded = false;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      inputEnded = true;
      done();
    },
  });
  const tar = new FilterProcess('tar', ['-x', '-v', '--quoting-style=literal', '-C', dir, '--no-same-owner', '-f', '-'], { name: 'tar' });
  const members = new Set<string>();
  let partial = '';
  const listing = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) members.add(memberName(line));
      done();
    },
  });
  try {
    await pipeline(body, decompressStream(), counter, completeTarTrailer(), tar, listing, signal ? { signal } : {});
    return members;
  } catch (err) {
    // Go's tar reader sees an empty stream as an empty archive (moby then misses the Dockerfile); GNU tar refuses it.
    if (inputEnded && bytes === 0 && isFault(err, 'invalid-argument')) return members;
    if (!isFault(err, 'invalid-argument')) throw err;
    throw new Fault('invalid-argument', `the build context is not a valid tar archive: ${err.message}`, { cause: err });
  }
}

/** A member name as GNU tar lists it (`./a/`, `b/c`) in the form COPY's walk names entries (`a`, `b/c`). */
function memberName(listed: string): string {
  return listed.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}
