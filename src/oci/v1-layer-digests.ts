import { createHash } from 'node:crypto';
import { Transform, type TransformCallback, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, type Header as TarHeader } from 'tar-stream';
import { Fault } from '../base/fault.ts';
import { TarSum, type TarSumHeader } from './v1-tarsum.ts';

/** What the 2014 protocol and the v2 bridge need to know of a layer, computed while it streams once. */
export interface V1LayerSums {
  compression: 'gzip' | 'none';
  /** Bytes as uploaded. */
  size: number;
  /** `sha256:` of json + "\n" + the layer as uploaded: docker 1.x's X-Docker-Checksum-Payload. */
  payload: string;
  /** `sha256:` of the uncompressed tar: the v2 config's diff_id. */
  diffId: string;
  /**
   * `tarsum+sha256:…`, `tarsum.v1+sha256:…`, `tarsum.dev+sha256:…` with the json as extra: what docker 1.x sent as
   * X-Docker-Checksum. Empty when the tar holds an entry type TarSum cannot name.
   */
  tarsums: string[];
}

// Magic numbers of the compressions docker 1.x could read but a v2 manifest cannot describe as a schema2 layer.
const unsupportedMagic: [string, number[]][] = [
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];
const sniffBytes = 6;

const typeflags: Record<string, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
  'contiguous-file': '7',
};

/**
 * A pass-through stream that hashes a v1 layer as it flows to storage: the payload checksum (seeded with the
 * json), and, on a side branch that inflates gzip (recognised by its magic) and reads the tar, the diff_id and
 * the TarSums. The branch applies back-pressure to the main flow, so nothing is buffered whole. A layer that is
 * neither a tar nor a gzipped tar fails the stream with an invalid-argument Fault.
 */
export class V1LayerDigester extends Transform {
  readonly #json: Buffer;
  readonly #payload;
  readonly #diff = createHash('sha256');
  readonly #tarsum = new TarSum();
  #tarsumNamed = true;
  #size = 0;
  #head: Buffer[] = [];
  #headLength = 0;
  #compression: 'gzip' | 'none' = 'none';
  #side: Writable | undefined;
  #branchDone: Promise<void> | undefined;
  #failure: Error | undefined;
  #waiting: ((err?: Error) => void) | undefined;
  #sums: V1LayerSums | undefined;

  constructor(json: string | Buffer) {
    super({ highWaterMark: 1024 * 1024 });
    this.#json = Buffer.isBuffer(json) ? json : Buffer.from(json);
    this.#payload = createHash('sha256').update(this.#json).update('\n');
  }

  /** The sums, once the stream has ended. */
  get sums(): V1LayerSums {
    if (!this.#sums) throw new Error('layer digests are read before the layer ended');
    return this.#sums;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#payload.update(chunk);
    this.#size += chunk.length;
    this.push(chunk);
    if (this.#side) return this.#feed(chunk, callback);
    this.#head.push(chunk);
    this.#headLength += chunk.length;
    if (this.#headLength < sniffBytes) return callback();
    this.#openBranch(callback);
  }

  override _flush(callback: TransformCallback): void {
    const finish = (err?: Error | null) => {
      if (err) return callback(err);
      const side = this.#side as Writable;
      side.end();
      (this.#branchDone as Promise<void>).then(
        () => {
          this.#sums = {
            compression: this.#compression,
            size: this.#size,
            payload: `sha256:${this.#payload.digest('hex')}`,
            diffId: `sha256:${this.#diff.digest('hex')}`,
            tarsums: this.#tarsumNamed ? Object.values(this.#tarsum.digest(this.#json)) : [],
          };
          callback();
        },
        (err: Error) => callback(err),
      );
    };
    if (this.#side) return finish();
    this.#openBranch(finish);
  }

  /** Decides the compression from the first bytes, builds the side branch and feeds it what was held back. */
  #openBranch(callback: (err?: Error | null) => void): void {
    const head = Buffer.concat(this.#head);
    this.#head = [];
    const unsupported = unsupportedMagic.find(([, magic]) => magic.every((byte, i) => head[i] === byte));
    if (unsupported) {
      return callback(new Fault('invalid-argument', `${unsupported[0]}-compressed layers are not supported: upload a gzipped or plain tar`));
    }
    const inspector = this.#tarInspector();
    if (head[0] === 0x1f && head[1] === 0x8b) {
      this.#compression = 'gzip';
      const gunzip = createGunzip();
      gunzip.on('error', (err) => this.#fail(new Fault('invalid-argument', `layer is not valid gzip: ${err.message}`, { cause: err })));
      gunzip.pipe(inspector);
      this.#side = gunzip;
    } else {
      this.#side = inspector;
    }
    if (head.length === 0) return callback();
    this.#feed(head, callback);
  }

  /** Hashes the uncompressed bytes (diff_id) and reads them as a tar for TarSum. */
  #tarInspector(): Writable {
    // Options tar-stream reads but its types omit: V7 archives (no ustar magic) parse, names keep their raw bytes.
    const extract = tarExtract({ allowUnknownFormat: true, filenameEncoding: 'latin1' } as Parameters<typeof tarExtract>[0]);
    extract.on('entry', (header, stream, next) => {
      const named = toTarSumHeader(header);
      if (named) this.#tarsum.entry(named);
      else this.#tarsumNamed = false;
      stream.on('data', (data) => this.#tarsum.update(data as Buffer));
      stream.on('end', () => next());
      stream.on('error', (err) => next(err as Error));
      stream.resume();
    });
    const inspector = new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, done) => {
        this.#diff.update(chunk);
        if (extract.write(chunk)) done();
        else extract.once('drain', () => done());
      },
      final: (done) => {
        extract.once('finish', () => done());
        // streamx's end() takes an optional last chunk; its types make it required.
        (extract as unknown as { end(): void }).end();
      },
    });
    const failTar = (err: Error) => this.#fail(new Fault('invalid-argument', `layer is not a tar archive: ${err.message}`, { cause: err }));
    extract.on('error', failTar);
    inspector.on('error', failTar);
    this.#branchDone = new Promise<void>((resolve, reject) => {
      inspector.once('finish', () => resolve());
      this.once('branch-failed', reject);
    });
    // The rejection is also delivered to whichever write or flush waits; never leave it unhandled.
    this.#branchDone.catch(() => undefined);
    return inspector;
  }

  #feed(chunk: Buffer, callback: (err?: Error | null) => void): void {
    if (this.#failure) return callback(this.#failure);
    const side = this.#side as Writable;
    if (side.write(chunk)) return callback();
    this.#waiting = callback;
    side.once('drain', () => {
      if (this.#waiting !== callback) return;
      this.#waiting = undefined;
      callback();
    });
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#side?.destroy();
    this.emit('branch-failed', err);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting(err);
  }
}

/** A tar-stream header as Go's archive/tar reports it, PAX overrides applied; undefined for an unnamed type. */
function toTarSumHeader(header: TarHeader): TarSumHeader | undefined {
  const typeflag = header.type ? typeflags[header.type] : undefined;
  if (!typeflag) return undefined;
  const pax = (header.pax ?? {}) as Record<string, string>;
  const int = (value: string | undefined, fallback: number) => (value !== undefined && /^-?\d+$/.test(value) ? Number(value) : fallback);
  // Names from the header block were decoded as latin1 (raw bytes); PAX values are UTF-8.
  const bytes = (paxValue: string | undefined, raw: string | null | undefined) =>
    paxValue !== undefined ? Buffer.from(paxValue, 'utf8') : Buffer.from(raw ?? '', 'latin1');
  const paxMtime = pax.mtime !== undefined && /^-?\d+(\.\d+)?$/.test(pax.mtime) ? Math.floor(Number(pax.mtime)) : undefined;
  return {
    name: bytes(pax.path, header.name),
    mode: header.mode ?? 0,
    uid: int(pax.uid, header.uid ?? 0),
    gid: int(pax.gid, header.gid ?? 0),
    size: header.size ?? 0,
    mtime: paxMtime ?? Math.floor((header.mtime?.getTime() ?? 0) / 1000),
    typeflag,
    linkname: bytes(pax.linkpath, header.linkname),
    uname: pax.uname ?? header.uname ?? '',
    gname: pax.gname ?? header.gname ?? '',
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
    xattrs: Object.entries(pax)
      .filter(([key]) => key.startsWith('SCHILY.xattr.'))
      .map(([key, value]) => [key.slice('SCHILY.xattr.'.length), value]),
  };
}
