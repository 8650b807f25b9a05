/*
 * The docker CLI (28) sends a context that carries a Dockerfile from stdin (`-f -`) without the padding of its last
 * member and without the two zero blocks that end an archive. Go's tar reader, which dockerd uses, takes a stream
 * that stops right after a member's data as its end; GNU tar refuses it. This transform walks the member headers
 * as the bytes pass and, when the stream stops where Go would stop cleanly, adds the missing padding and end
 * blocks. A stream cut inside a header or inside a member's data is an error, as it is to Go.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Fault } from '../../base/fault.ts';

const block = 512;

export function completeTarTrailer(): Transform {
  let header = Buffer.alloc(0);
  let dataLeft = 0;
  let padLeft = 0;
  let ended = false;
  const walk = (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length && !ended) {
      if (dataLeft + padLeft > 0) {
        const take = Math.min(dataLeft + padLeft, chunk.length - at);
        const fromData = Math.min(take, dataLeft);
        dataLeft -= fromData;
        padLeft -= take - fromData;
        at += take;
        continue;
      }
      const take = Math.min(block - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + take)]);
      at += take;
      if (header.length < block) continue;
      if (header.every((b) => b === 0)) ended = true;
      else {
        dataLeft = memberSize(header);
        padLeft = (block - (dataLeft % block)) % block;
      }
      header = Buffer.alloc(0);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      walk(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (ended) return done();
      // GNU tar would take a stream cut inside a header as the end; Go's reader (dockerd's) says unexpected EOF.
      if (dataLeft > 0 || header.length > 0) return done(new Fault('invalid-argument', 'unexpected EOF'));
      done(null, Buffer.alloc(padLeft + 2 * block));
    },
  });
}

/** The size field of a ustar header: octal digits, or GNU's base-256 when the first byte has its high bit set. */
function memberSize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0] & 0x80) {
    let size = field[0] & 0x7f;
    for (const byte of field.subarray(1)) size = size * 256 + byte;
    return size;
  }
  const digits = field.toString('latin1').replace(/[\0 ]+$/, '').trim();
  return digits ? Number.parseInt(digits, 8) || 0 : 0;
}
