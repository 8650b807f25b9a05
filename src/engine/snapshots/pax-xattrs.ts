/*
 * Extended attributes in a tar, as PAX records: `SCHILY.xattr.<name>=<raw bytes>` (Go's archive/tar, moby, GNU
 * tar) and libarchive's `LIBARCHIVE.xattr.<%-encoded name>=<base64>`. The values are binary (security.capability
 * is a struct) while tar-stream decodes PAX values as UTF-8, which turns any byte above 0x7f that is not valid
 * UTF-8 into U+FFFD. So the reader keeps the raw records of each entry's own PAX header itself (a global header's
 * records are ignored, as moby ignores them), and the writer encodes the PAX header itself.
 */
import { extract, type Extract, type Header, type Pack } from 'tar-stream';
import { Fault } from '../../base/fault.ts';
import type { Xattrs } from './xattrs.ts';

const schily = 'SCHILY.xattr.';
const libarchive = 'LIBARCHIVE.xattr.';

/** The records of a PAX extended header body ("<len> <key>=<value>\n" each), values raw. */
export function paxRecords(body: Buffer): [string, Buffer][] {
  const records: [string, Buffer][] = [];
  let rest = body;
  while (rest.length) {
    const space = rest.indexOf(0x20);
    const length = Number.parseInt(rest.subarray(0, space).toString('latin1'), 10);
    if (space < 0 || !(length > space + 1) || length > rest.length) break;
    const record = rest.subarray(space + 1, length - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) break;
    records.push([record.subarray(0, eq).toString(), record.subarray(eq + 1)]);
    rest = rest.subarray(length);
  }
  return records;
}

/** The extended attributes among PAX `records`. */
export function xattrsOfPax(records: readonly [string, Buffer][]): Xattrs {
  const xattrs: Xattrs = new Map();
  for (const [key, value] of records) {
    if (key.startsWith(schily)) xattrs.set(key.slice(schily.length), value);
    else if (key.startsWith(libarchive)) xattrs.set(libarchiveName(key), Buffer.from(value.toString('latin1'), 'base64'));
  }
  return xattrs;
}

function libarchiveName(key: string): string {
  try {
    return decodeURIComponent(key.slice(libarchive.length));
  } catch {
    throw new Fault('invalid-argument', `invalid tar archive: bad PAX record name ${JSON.stringify(key)}`);
  }
}

/** tar-stream's extractor, private parts named for the one hook below. */
type HookedExtract = Extract & { _header: { type: string } | null; _pax: object | null; _decodeLongHeader(body: Buffer): void };

/** A tar-stream extractor and the extended attributes of each entry it yields (by its header). */
export function xattrExtractor(): { extractor: Extract; xattrsOf(header: Header): Xattrs | undefined } {
  const extractor = extract() as HookedExtract;
  const byPax = new WeakMap<object, Xattrs>();
  const decode = extractor._decodeLongHeader;
  if (typeof decode !== 'function') throw new Error('tar-stream changed: its extractor has no _decodeLongHeader to read PAX xattrs from');
  // tar-stream decodes the body into `_pax`, then hands that very object to the next entry's `header.pax`.
  extractor._decodeLongHeader = function (body: Buffer) {
    decode.call(this, body);
    if (this._header?.type !== 'pax-header' || !this._pax) return;
    const xattrs = xattrsOfPax(paxRecords(body));
    if (xattrs.size) byPax.set(this._pax, xattrs);
  };
  return { extractor, xattrsOf: (header) => (header.pax ? byPax.get(header.pax) : undefined) };
}

/** One "<len> <key>=<value>\n" record; the length counts its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + String(body.length).length;
  if (String(length).length !== String(body.length).length) length = body.length + String(length).length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/** A ustar header block (typeflag x) for a PAX extended header of `size` bytes, padded body to follow. */
function paxHeaderBlock(size: number, mtime: Date): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, offset: number, width: number) => block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'latin1');
  block.write('PaxHeader', 0, 'latin1');
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.max(0, Math.floor(mtime.getTime() / 1000)), 136, 12);
  block.write('x', 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** Whether tar-stream surely writes `name` in a plain ustar header, without a PAX header of its own. */
function fitsUstar(name: string): boolean {
  return /^[\x20-\x7e]{0,100}$/.test(name);
}

/**
 * Writes the PAX header of `header`'s entry with its extended attributes, binary values intact: path, linkpath and
 * the SCHILY.xattr records, straight into `tar` (tar-stream's own PAX writer only takes UTF-8 text). Call it
 * between entries only, and write the entry it returns next: its names need no second PAX header of
 * tar-stream's, which would replace this one (the PAX names win on read).
 */
export function writePaxXattrs<H extends Partial<Header> & { name: string }>(tar: Pack, header: H, xattrs: Xattrs): H {
  const records: Buffer[] = [paxRecord('path', Buffer.from(header.name))];
  if (header.linkname) records.push(paxRecord('linkpath', Buffer.from(header.linkname)));
  for (const [name, value] of [...xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) records.push(paxRecord(`${schily}${name}`, value));
  const body = Buffer.concat(records);
  tar.push(Buffer.concat([paxHeaderBlock(body.length, header.mtime ?? new Date(0)), body, Buffer.alloc((512 - (body.length % 512)) % 512)]));
  const placeholder = (name: string) => (fitsUstar(name) ? name : 'PaxHeader');
  return { ...header, name: placeholder(header.name), ...(header.linkname ? { linkname: placeholder(header.linkname) } : {}) };
}
