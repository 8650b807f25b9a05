/*
 * What a body's first bytes say it is, when its server did not say (or said application/octet-stream): the part
 * of Go's http.DetectContentType (the WHATWG sniffing algorithm) that tells a build context apart: a Dockerfile is
 * text, an archive is binary, and a web page or document is neither. Compressed archives are left to sniff as
 * application/octet-stream: layer-compression.ts tells their compression apart when they are unpacked.
 */

const whitespace = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20]);

/** Tags that make a body HTML when one starts it (after whitespace), followed by a space or `>`. */
const htmlTags = ['<!DOCTYPE HTML', '<HTML', '<HEAD', '<SCRIPT', '<IFRAME', '<H1', '<DIV', '<FONT', '<TABLE', '<A', '<STYLE', '<TITLE', '<B', '<BODY', '<BR', '<P', '<!--'];

const signatures: [string, number[]][] = [
  ['application/pdf', [...Buffer.from('%PDF-')]],
  ['application/postscript', [...Buffer.from('%!PS-Adobe-')]],
  ['text/plain', [0xfe, 0xff]],
  ['text/plain', [0xff, 0xfe]],
  ['text/plain', [0xef, 0xbb, 0xbf]],
  ['image/gif', [...Buffer.from('GIF87a')]],
  ['image/gif', [...Buffer.from('GIF89a')]],
  ['image/png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['application/zip', [0x50, 0x4b, 0x03, 0x04]],
  ['application/x-rar-compressed', [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07]],
  ['application/wasm', [0x00, 0x61, 0x73, 0x6d]],
];

/** Bytes that never occur in text (WHATWG's "binary data byte"). */
const isBinaryByte = (b: number) => b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);

/** The media type (without parameters) the first bytes of a body suggest. */
export function sniffContentType(head: Uint8Array): string {
  for (const [type, magic] of signatures) if (magic.every((b, i) => head[i] === b)) return type;
  let start = 0;
  while (start < head.length && whitespace.has(head[start])) start++;
  const text = Buffer.from(head.subarray(start, start + 16)).toString('latin1').toUpperCase();
  for (const tag of htmlTags) {
    if (text.startsWith(tag) && (text[tag.length] === ' ' || text[tag.length] === '>')) return 'text/html';
  }
  if (text.startsWith('<?XML')) return 'text/xml';
  return head.some(isBinaryByte) ? 'application/octet-stream' : 'text/plain';
}
