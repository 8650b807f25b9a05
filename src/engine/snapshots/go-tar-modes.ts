/*
 * moby's tars (export, cp, layer diffs: pkg/archive FileInfoHeader) carry the file type bits in each header's mode
 * (`40755` a directory, `100644` a file, `120777` a symlink), as Go's archive/tar wrote them before Go 1.9 and moby
 * still does (fillGo18FileTypeBits). GNU tar and tar-stream write the permission bits alone. This transform adds the
 * type bits to every entry header of a tar stream as it passes, the rest of the bytes untouched; it streams.
 */
import { pipeline, type Readable, Transform } from 'node:stream';

const block = 512;

/** S_IF* by typeflag. A hardlink's header is the file's (regular) with the link type on top, as in moby. */
const typeBits: Record<string, number> = {
  '0': 0o100000,
  '\0': 0o100000,
  '7': 0o100000,
  '1': 0o100000,
  '2': 0o120000,
  '3': 0o020000,
  '4': 0o060000,
  '5': 0o040000,
  '6': 0o010000,
};

function octal(header: Buffer, offset: number, length: number): number {
  const text = header.toString('latin1', offset, offset + length).replace(/[\0 ]+$/, '').trim();
  return text ? parseInt(text, 8) : 0;
}

/** A numeric field: octal text, or GNU's base-256 (high bit set) for sizes of 8 GiB and more. */
function numeric(header: Buffer, offset: number, length: number): number {
  if (!(header[offset] & 0x80)) return octal(header, offset, length);
  let value = header[offset] & 0x7f;
  for (let i = offset + 1; i < offset + length; i++) value = value * 256 + header[i];
  return value;
}

/**
 * Adds the type bits to one header block in place; gives the bytes of entry data (padded) that follow it. moby's
 * whiteout and opaque marks (`.wh.*`) are written without type bits (overlayWhiteoutConverter), so they stay.
 */
function withTypeBits(header: Buffer): number {
  if (header.every((b) => b === 0)) return 0;
  const dataBytes = Math.ceil(numeric(header, 124, 12) / block) * block;
  const bits = typeBits[String.fromCharCode(header[156])];
  const name = header.toString('latin1', 0, 100).replace(/\0.*$/s, '');
  const mode = octal(header, 100, 8);
  if (bits === undefined || /(^|\/)\.wh\.[^/]*\/?$/.test(name) || mode & 0o170000) return dataBytes;
  header.write(`${(mode | bits).toString(8).padStart(7, '0')}\0`, 100, 8, 'latin1');
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return dataBytes;
}

/** A Transform from a tar stream to the same stream with moby's header modes (see the top of this file). */
export function goTarModes(): Transform {
  let partial: Buffer[] = [];
  let partialLength = 0;
  let dataLeft = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let at = 0;
      while (at < chunk.length) {
        if (dataLeft > 0) {
          const n = Math.min(dataLeft, chunk.length - at);
          this.push(chunk.subarray(at, at + n));
          at += n;
          dataLeft -= n;
          continue;
        }
        const piece = chunk.subarray(at, at + block - partialLength);
        at += piece.length;
        partial.push(piece);
        partialLength += piece.length;
        if (partialLength < block) continue;
        // A copy: the header is rewritten, and the chunk may be a view the writer still holds.
        const header = Buffer.concat(partial, block);
        partial = [];
        partialLength = 0;
        dataLeft = withTypeBits(header);
        this.push(header);
      }
      done();
    },
    flush(done) {
      // A tar cut inside a header goes on as it came: its reader reports the truncation.
      if (partialLength) this.push(Buffer.concat(partial));
      done();
    },
  });
}

/** `tar` (GNU tar's output) with moby's header modes; the pipeline owns both, so either side's end ends the other. */
export function withGoTarModes(tar: Readable): Readable {
  const out = goTarModes();
  pipeline(tar, out, () => undefined);
  return out;
}
