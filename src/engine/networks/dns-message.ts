/*
 * DNS messages on the wire (RFC 1035 section 4), as far as an embedded resolver needs them: every section is
 * parsed structurally, record data is kept raw. Every byte comes from a container, so the parser checks each
 * length before reading and fails only with one Fault ('invalid-argument'), never with a RangeError.
 */
import { Fault } from '../../base/fault.ts';

export const dnsTypes = { A: 1, PTR: 12, MX: 15, AAAA: 28, OPT: 41 } as const;
export const dnsRcodes = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const dnsClassIn = 1;
/** The largest UDP answer without EDNS (RFC 1035 4.2.1). */
export const classicUdpSize = 512;

export interface DnsHeader {
  id: number;
  /** True in a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
}

/** Names are in presentation form without the trailing dot ('' is the root); '.', '\' and odd bytes escaped. */
export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Uint8Array;
}

export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

const headerSize = 12;
const maxNameWire = 255;
const maxLabel = 63;
/** Pointers only point backwards, which already ends every chain; the limit bounds the work per name. */
const maxPointerJumps = 64;

function malformed(reason: string): Fault {
  return new Fault('invalid-argument', `malformed DNS message: ${reason}`);
}

/** The 16-bit ID of a message at least a header long, else undefined (too short to answer at all). */
export function peekId(bytes: Uint8Array): number | undefined {
  return bytes.length >= headerSize ? (bytes[0] << 8) | bytes[1] : undefined;
}

export function parseHeader(bytes: Uint8Array): DnsHeader {
  if (bytes.length < headerSize) throw malformed(`${bytes.length} bytes is shorter than a header`);
  const flags = (bytes[2] << 8) | bytes[3];
  return {
    id: (bytes[0] << 8) | bytes[1],
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
  };
}

export function parseMessage(bytes: Uint8Array): DnsMessage {
  const header = parseHeader(bytes);
  const reader = new Reader(bytes, headerSize);
  const counts = [4, 6, 8, 10].map((at) => (bytes[at] << 8) | bytes[at + 1]);
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) questions.push({ name: reader.name(), type: reader.u16(), class: reader.u16() });
  const records = (count: number) => Array.from({ length: count }, () => reader.record());
  const message = { header, questions, answers: records(counts[1]), authorities: records(counts[2]), additionals: records(counts[3]) };
  if (reader.offset !== bytes.length) throw malformed(`${bytes.length - reader.offset} bytes after the last record`);
  return message;
}

class Reader {
  readonly bytes: Uint8Array;
  offset: number;

  constructor(bytes: Uint8Array, offset: number) {
    this.bytes = bytes;
    this.offset = offset;
  }

  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw malformed(`truncated at byte ${this.offset}`);
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  u16(): number {
    const [hi, lo] = this.take(2);
    return (hi << 8) | lo;
  }

  u32(): number {
    const b = this.take(4);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }

  record(): DnsRecord {
    const name = this.name();
    const [type, cls, ttl, length] = [this.u16(), this.u16(), this.u32(), this.u16()];
    return { name, type, class: cls, ttl, data: Uint8Array.from(this.take(length)) };
  }

  /** A possibly compressed name (RFC 1035 4.1.4); the reader moves past its in-place part only. */
  name(): string {
    const labels: string[] = [];
    let at = this.offset;
    let end: number | undefined;
    let wire = 1;
    for (let jumps = 0; ; ) {
      if (at >= this.bytes.length) throw malformed(`name runs past the end at byte ${at}`);
      const length = this.bytes[at];
      if ((length & 0xc0) === 0xc0) {
        if (at + 1 >= this.bytes.length) throw malformed(`truncated pointer at byte ${at}`);
        const target = ((length & 0x3f) << 8) | this.bytes[at + 1];
        if (target >= at || ++jumps > maxPointerJumps) throw malformed(`compression pointer at byte ${at} does not point back`);
        end ??= at + 2;
        at = target;
        continue;
      }
      if (length & 0xc0) throw malformed(`reserved label type at byte ${at}`);
      if (length === 0) break;
      wire += length + 1;
      if (wire > maxNameWire) throw malformed(`name longer than ${maxNameWire} bytes`);
      if (at + 1 + length > this.bytes.length) throw malformed(`label runs past the end at byte ${at}`);
      labels.push(escapeLabel(this.bytes.subarray(at + 1, at + 1 + length)));
      at += length + 1;
    }
    this.offset = end ?? at + 1;
    return labels.join('.');
  }
}

function escapeLabel(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x2e || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b <= 0x20 || b >= 0x7f) out += `\\${String(b).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** The wire labels of a presentation-form name; the inverse of the reader's escaping. */
export function nameLabels(name: string): Uint8Array[] {
  if (name === '' || name === '.') return [];
  const labels: Uint8Array[] = [];
  let current: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      labels.push(Uint8Array.from(current));
      current = [];
    } else if (c === 0x5c && /^\d{3}$/.test(name.slice(i + 1, i + 4))) {
      current.push(Number(name.slice(i + 1, i + 4)) & 0xff);
      i += 3;
    } else if (c === 0x5c && i + 1 < name.length) {
      current.push(name.charCodeAt(++i) & 0xff);
    } else {
      current.push(c & 0xff);
    }
  }
  if (current.length > 0 || !name.endsWith('.')) labels.push(Uint8Array.from(current));
  if (labels.some((l) => l.length === 0 || l.length > maxLabel)) throw malformed(`bad label in name ${JSON.stringify(name)}`);
  if (labels.reduce((n, l) => n + l.length + 1, 1) > maxNameWire) throw malformed(`name ${JSON.stringify(name)} is too long`);
  return labels;
}

/** Encodes a message. Names are written whole (no compression) except that a record owned by the first question's name points at it. */
export function buildMessage(message: DnsMessage): Uint8Array {
  const out = new Writer();
  const { header: h } = message;
  out.u16(h.id);
  out.u16((h.qr ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) | (h.rd ? 0x0100 : 0) |
    (h.ra ? 0x80 : 0) | (h.ad ? 0x20 : 0) | (h.cd ? 0x10 : 0) | (h.rcode & 0xf));
  for (const section of [message.questions, message.answers, message.authorities, message.additionals]) out.u16(section.length);
  const firstName = message.questions[0]?.name;
  const writeName = (name: string) => (name === firstName ? out.u16(0xc000 | headerSize) : out.name(name));
  message.questions.forEach((q, i) => {
    if (i === 0) out.name(q.name);
    else writeName(q.name);
    out.u16(q.type);
    out.u16(q.class);
  });
  for (const record of [...message.answers, ...message.authorities, ...message.additionals]) {
    writeName(record.name);
    out.u16(record.type);
    out.u16(record.class);
    out.u32(record.ttl);
    out.u16(record.data.length);
    out.bytes(record.data);
  }
  return out.done();
}

class Writer {
  #chunks: number[] = [];

  u16(value: number): void {
    this.#chunks.push((value >> 8) & 0xff, value & 0xff);
  }

  u32(value: number): void {
    this.u16(value >>> 16);
    this.u16(value & 0xffff);
  }

  bytes(data: Uint8Array): void {
    for (const b of data) this.#chunks.push(b);
  }

  name(name: string): void {
    for (const label of nameLabels(name)) {
      this.#chunks.push(label.length);
      this.bytes(label);
    }
    this.#chunks.push(0);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }
}

/** The wire form of a name alone (PTR record data). */
export function encodeName(name: string): Uint8Array {
  const out = new Writer();
  out.name(name);
  return out.done();
}

export function aRecord(name: string, address: string, ttl: number): DnsRecord {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Fault('invalid-argument', `${JSON.stringify(address)} is not an IPv4 address`);
  }
  return { name, type: dnsTypes.A, class: dnsClassIn, ttl, data: Uint8Array.from(octets) };
}

export function ptrRecord(name: string, target: string, ttl: number): DnsRecord {
  return { name, type: dnsTypes.PTR, class: dnsClassIn, ttl, data: encodeName(target) };
}

/**
 * The reply to a query as miekg/dns's SetReply makes it (what moby's resolver answers with): same ID, opcode,
 * RD and CD, the question echoed, recursion available. An EDNS query gets an OPT record back (RFC 6891 7).
 */
export function buildReply(query: DnsMessage, options: { rcode: number; answers?: DnsRecord[]; udpSize?: number }): DnsMessage {
  const q = query.header;
  const opt = query.additionals.some((r) => r.type === dnsTypes.OPT)
    ? [{ name: '', type: dnsTypes.OPT, class: options.udpSize ?? 1232, ttl: 0, data: new Uint8Array(0) }]
    : [];
  return {
    header: { id: q.id, qr: true, opcode: q.opcode, aa: false, tc: false, rd: q.rd, ra: true, ad: false, cd: q.cd, rcode: options.rcode },
    questions: query.questions.slice(0, 1),
    answers: options.answers ?? [],
    authorities: [],
    additionals: opt,
  };
}

/**
 * Encodes a reply within `maxSize` bytes: answers that do not fit are dropped and TC is set, so the client
 * retries over TCP (RFC 2181 9, as miekg/dns's Msg.Truncate does for moby).
 */
export function buildBounded(reply: DnsMessage, maxSize: number): Uint8Array {
  let bytes = buildMessage(reply);
  if (bytes.length <= maxSize) return bytes;
  const answers = [...reply.answers];
  while (answers.length > 0 && bytes.length > maxSize) {
    answers.pop();
    bytes = buildMessage({ ...reply, header: { ...reply.header, tc: true }, answers });
  }
  return bytes;
}

/** The UDP payload size a query allows for its answer: its EDNS OPT class (RFC 6891 6.2.3), at least 512. */
export function udpSizeOf(query: DnsMessage): number {
  const opt = query.additionals.find((r) => r.type === dnsTypes.OPT);
  return Math.max(classicUdpSize, opt?.class ?? 0);
}

/** A copy of a message with another ID (forwarded queries carry our own ID upstream). */
export function withId(bytes: Uint8Array, id: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[0] = (id >> 8) & 0xff;
  copy[1] = id & 0xff;
  return copy;
}
