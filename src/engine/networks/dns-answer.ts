/*
 * What the embedded DNS does with one incoming packet, decided without I/O. Follows moby's resolver
 * (daemon/libnetwork/resolver.go, serveDNS) and the miekg/dns server it runs on (defaultMsgAcceptFunc).
 */
import { aRecord, buildReply, dnsRcodes, dnsTypes, parseHeader, parseMessage, ptrRecord } from './dns-message.ts';
import type { DnsMessage } from './dns-message.ts';
import type { DnsNameTable } from './dns-name-table.ts';

/** moby's respTTL. */
export const answerTtl = 600;

export type Triage = { kind: 'drop' } | { kind: 'reply'; reply: DnsMessage } | { kind: 'query'; query: DnsMessage };

const emptyQuery = (header: DnsMessage['header']): DnsMessage => ({ header, questions: [], answers: [], authorities: [], additionals: [] });

/**
 * miekg/dns: shorter than a header or a response -> ignored; an opcode other than QUERY -> NOTIMP; not exactly
 * one question, or more records than a query carries, or an unparsable body -> FORMERR.
 */
export function triage(bytes: Uint8Array): Triage {
  if (bytes.length < 12) return { kind: 'drop' };
  const header = parseHeader(bytes);
  if (header.qr) return { kind: 'drop' };
  if (header.opcode !== 0) return { kind: 'reply', reply: buildReply(emptyQuery(header), { rcode: dnsRcodes.NOTIMP }) };
  let query: DnsMessage;
  try {
    query = parseMessage(bytes);
  } catch {
    return { kind: 'reply', reply: buildReply(emptyQuery(header), { rcode: dnsRcodes.FORMERR }) };
  }
  if (query.questions.length !== 1 || query.answers.length > 1 || query.authorities.length > 1 || query.additionals.length > 2) {
    return { kind: 'reply', reply: buildReply({ ...query, questions: [] }, { rcode: dnsRcodes.FORMERR }) };
  }
  return { kind: 'query', query };
}

/**
 * The local answer to a one-question query, or undefined when it is to be forwarded. Known names answer A
 * (every address, rotated by `rotation`), and AAAA and MX with NOERROR and no records (moby: "the name exists in
 * the docker domain, even if there are no addresses of the required type"); PTR answers for container addresses.
 * Other types, even for known names, are forwarded, as moby does. `from`, the asker's address, selects its link
 * aliases.
 */
export function answerLocally(query: DnsMessage, table: DnsNameTable, asked: { rotation: number; from?: string }): DnsMessage | undefined {
  const { name, type } = query.questions[0];
  if (type === dnsTypes.PTR) return answerPtr(query, table);
  if (type !== dnsTypes.A && type !== dnsTypes.AAAA && type !== dnsTypes.MX) return undefined;
  const addresses = table.lookup(name, asked.from);
  if (addresses === undefined) return undefined;
  if (type !== dnsTypes.A) return buildReply(query, { rcode: dnsRcodes.NOERROR });
  const start = asked.rotation % addresses.length;
  const rotated = [...addresses.slice(start), ...addresses.slice(0, start)];
  return buildReply(query, { rcode: dnsRcodes.NOERROR, answers: rotated.map((a) => aRecord(name, a, answerTtl)) });
}

function answerPtr(query: DnsMessage, table: DnsNameTable): DnsMessage | undefined {
  const { name } = query.questions[0];
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(name);
  if (match === null) return undefined;
  const address = match.slice(1, 5).reverse().map(Number).join('.');
  const host = table.reverse(address);
  if (host === undefined) return undefined;
  return buildReply(query, { rcode: dnsRcodes.NOERROR, answers: [ptrRecord(name, host, answerTtl)] });
}
