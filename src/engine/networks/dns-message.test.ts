import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../base/fault.ts';
import { triage } from './dns-answer.ts';
import {
  aRecord, buildBounded, buildMessage, buildReply, dnsRcodes, dnsTypes, nameLabels, parseMessage, ptrRecord, udpSizeOf,
  type DnsMessage, type DnsRecord,
} from './dns-message.ts';

// CI runs a fixed seed; WHARF_FUZZ_SEED picks another (a failure prints the seed that found it).
const seed = Number(process.env.WHARF_FUZZ_SEED ?? 8);

function check<T>(property: fc.IProperty<[T]>, numRuns = 2000): void {
  const result = fc.check(property, { seed, numRuns });
  if (result.failed) assert.fail(`seed ${seed} (WHARF_FUZZ_SEED=${seed}): ${fc.defaultReportMessage(result)}`);
}

/** RFC 1035 5.1 presentation form of one label: '.' and '\' escaped, other unprintable bytes as \DDD. */
function presentLabel(bytes: number[]): string {
  return bytes.map((b) => (b === 0x2e || b === 0x5c ? `\\${String.fromCharCode(b)}` : b <= 0x20 || b >= 0x7f ? `\\${String(b).padStart(3, '0')}` : String.fromCharCode(b))).join('');
}

const byteOf = fc.oneof(fc.integer({ min: 0x61, max: 0x7a }), fc.constantFrom(0x2e, 0x5c, 0x20, 0x00, 0xff, 0x2d, 0x30));
const labelArb = fc.array(byteOf, { minLength: 1, maxLength: 63 }).map(presentLabel);
const nameArb = fc.array(labelArb, { maxLength: 3 }).map((labels) => labels.join('.'));
const u16 = fc.integer({ min: 0, max: 0xffff });
const recordArb: fc.Arbitrary<DnsRecord> = fc.record({
  name: nameArb,
  type: u16,
  class: u16,
  ttl: fc.integer({ min: 0, max: 0xffffffff }),
  data: fc.uint8Array({ maxLength: 40 }),
}, { noNullPrototype: true });
const messageArb: fc.Arbitrary<DnsMessage> = fc.record({
  header: fc.record({
    id: u16, qr: fc.boolean(), opcode: fc.integer({ min: 0, max: 15 }), aa: fc.boolean(), tc: fc.boolean(), rd: fc.boolean(),
    ra: fc.boolean(), ad: fc.boolean(), cd: fc.boolean(), rcode: fc.integer({ min: 0, max: 15 }),
  }, { noNullPrototype: true }),
  questions: fc.array(fc.record({ name: nameArb, type: u16, class: u16 }, { noNullPrototype: true }), { maxLength: 3 }),
  answers: fc.array(recordArb, { maxLength: 3 }),
  authorities: fc.array(recordArb, { maxLength: 2 }),
  additionals: fc.array(recordArb, { maxLength: 2 }),
}, { noNullPrototype: true });

function query(name: string, type: number = dnsTypes.A, options: { edns?: number } = {}): DnsMessage {
  const opt = options.edns === undefined ? [] : [{ name: '', type: dnsTypes.OPT, class: options.edns, ttl: 0, data: new Uint8Array(0) }];
  return {
    header: { id: 0x1234, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0 },
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: opt,
  };
}

function assertMalformed(bytes: Uint8Array): void {
  assert.throws(() => parseMessage(bytes), (err) => isFault(err, 'invalid-argument'));
}

describe('DNS messages', () => {
  test('random bytes either parse or fail with the parse Fault, never anything else', () => {
    check(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        parseMessage(bytes);
      } catch (err) {
        assert.ok(isFault(err, 'invalid-argument'), String(err));
      }
      triage(bytes);
    }), 20_000);
  });

  test('corrupted valid messages either parse or fail with the parse Fault', () => {
    const corrupted = fc.tuple(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat())
      .map(([message, flips, cut]) => {
        const bytes = buildMessage(message);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return bytes.subarray(0, bytes.length - (cut % 3));
      });
    check(fc.property(corrupted, (bytes) => {
      try {
        parseMessage(bytes);
      } catch (err) {
        assert.ok(isFault(err, 'invalid-argument'), String(err));
      }
      triage(bytes);
    }), 5000);
  });

  test('parse(build(message)) gives the message back', () => {
    check(fc.property(messageArb, (message) => assert.deepEqual(parseMessage(buildMessage(message)), message)));
  });

  test('a compression pointer to itself or forwards is refused, not followed', () => {
    const header = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    assertMalformed(Uint8Array.from([...header, 0xc0, 12, 0, 1, 0, 1]));
    assertMalformed(Uint8Array.from([...header, 0xc0, 14, 0, 0, 1, 0, 1]));
    // Two pointers pointing at each other: the second points back to the first, the first forwards.
    assertMalformed(Uint8Array.from([...header, 1, 0x61, 0xc0, 16, 0xc0, 14, 0, 1, 0, 1]));
  });

  test('a backward compression pointer is followed', () => {
    const header = [0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0];
    const bytes = Uint8Array.from([...header, 3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1, 1, 0x61, 0xc0, 12, 0, 1, 0, 1]);
    assert.deepEqual(parseMessage(bytes).questions.map((q) => q.name), ['web', 'a.web']);
  });

  test('names beyond 255 bytes, reserved label types and trailing bytes are refused', () => {
    const long = Array.from({ length: 5 }, () => [63, ...new Array(63).fill(0x61)]).flat();
    assertMalformed(Uint8Array.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...long, 0, 0, 1, 0, 1]));
    assertMalformed(Uint8Array.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 0, 1]));
    assertMalformed(Uint8Array.from([...buildMessage(query('web')), 0]));
    assertMalformed(Uint8Array.from([0, 1, 0, 0]));
    assert.throws(() => nameLabels('a'.repeat(64)), (err) => isFault(err, 'invalid-argument'));
    assert.throws(() => nameLabels('a..b'), (err) => isFault(err, 'invalid-argument'));
  });

  test('names with or without the trailing dot encode the same', () => {
    assert.deepEqual(nameLabels('web.'), nameLabels('web'));
    assert.deepEqual(nameLabels('.'), []);
  });

  test('a reply keeps the ID, RD and the question, and sets RA', () => {
    const reply = parseMessage(buildMessage(buildReply(query('Web'), { rcode: dnsRcodes.NOERROR, answers: [aRecord('Web', '10.1.2.3', 600)] })));
    assert.equal(reply.header.id, 0x1234);
    assert.ok(reply.header.qr && reply.header.rd && reply.header.ra);
    assert.deepEqual(reply.questions, [{ name: 'Web', type: dnsTypes.A, class: 1 }]);
    assert.deepEqual([...reply.answers[0].data], [10, 1, 2, 3]);
    assert.deepEqual(reply.additionals, []);
  });

  test('an EDNS query gets an OPT record back and may get up to its UDP size', () => {
    const edns = query('web', dnsTypes.A, { edns: 4096 });
    assert.equal(udpSizeOf(edns), 4096);
    assert.equal(udpSizeOf(query('web')), 512);
    assert.equal(udpSizeOf(query('web', dnsTypes.A, { edns: 100 })), 512);
    assert.equal(buildReply(edns, { rcode: 0 }).additionals[0].type, dnsTypes.OPT);
  });

  test('an answer too big for the size is cut to what fits, with TC set', () => {
    const answers = Array.from({ length: 100 }, (_, i) => aRecord('web', `10.0.${i}.1`, 600));
    const bytes = buildBounded(buildReply(query('web'), { rcode: 0, answers }), 512);
    assert.ok(bytes.length <= 512);
    const reply = parseMessage(bytes);
    assert.ok(reply.header.tc);
    assert.ok(reply.answers.length > 20 && reply.answers.length < 100);
    assert.equal(parseMessage(buildBounded(buildReply(query('web'), { rcode: 0, answers }), 0xffff)).answers.length, 100);
  });

  test('PTR data is the target name on the wire', () => {
    assert.deepEqual([...ptrRecord('3.2.1.10.in-addr.arpa', 'web.net', 600).data], [3, 0x77, 0x65, 0x62, 3, 0x6e, 0x65, 0x74, 0]);
  });

  test('triage: responses and short packets are dropped, other opcodes NOTIMP, several questions FORMERR', () => {
    assert.equal(triage(new Uint8Array(5)).kind, 'drop');
    assert.equal(triage(buildMessage({ ...query('web'), header: { ...query('web').header, qr: true } })).kind, 'drop');
    const notimp = triage(buildMessage({ ...query('web'), header: { ...query('web').header, opcode: 2 } }));
    assert.ok(notimp.kind === 'reply' && notimp.reply.header.rcode === dnsRcodes.NOTIMP);
    const two = triage(buildMessage({ ...query('web'), questions: [query('a').questions[0], query('b').questions[0]] }));
    assert.ok(two.kind === 'reply' && two.reply.header.rcode === dnsRcodes.FORMERR && two.reply.header.id === 0x1234);
    const garbage = triage(Uint8Array.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f]));
    assert.ok(garbage.kind === 'reply' && garbage.reply.header.rcode === dnsRcodes.FORMERR && garbage.reply.header.id === 0xabcd);
  });
});
