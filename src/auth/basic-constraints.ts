/** A DER element: its tag, and where its contents start and end in the buffer. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

// id-ce-basicConstraints, 2.5.29.19, as its OID contents.
const basicConstraintsOid = Buffer.from([0x55, 0x1d, 0x13]);

/**
 * The basicConstraints pathLenConstraint of a DER certificate, or undefined when it has none (no limit). Node's
 * X509Certificate exposes only the CA flag, so the extension is read from the certificate's bytes.
 */
export function pathLenConstraint(der: Buffer): number | undefined {
  const certificate = element(der, 0);
  const tbs = element(der, certificate.start);
  for (const field of children(der, tbs)) {
    if (field.tag !== 0xa3) continue; // [3] extensions
    for (const extension of children(der, element(der, field.start))) {
      const [oid, ...rest] = children(der, extension);
      if (oid.tag !== 0x06 || !der.subarray(oid.start, oid.end).equals(basicConstraintsOid)) continue;
      const value = rest[rest.length - 1];
      const constraints = element(der, value.start);
      const pathLen = children(der, constraints).find((child) => child.tag === 0x02);
      return pathLen ? der.subarray(pathLen.start, pathLen.end).reduce((n, byte) => n * 256 + byte, 0) : undefined;
    }
  }
  return undefined;
}

function children(der: Buffer, parent: Element): Element[] {
  const found: Element[] = [];
  for (let at = parent.start; at < parent.end; at = found[found.length - 1].end) found.push(element(der, at));
  return found;
}

function element(der: Buffer, at: number): Element {
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('unsupported DER length');
    length = der.subarray(start, start + octets).reduce((n, byte) => n * 256 + byte, 0);
    start += octets;
  }
  if (tag === undefined || start + length > der.length) throw new Error('truncated DER');
  return { tag, start, end: start + length };
}
