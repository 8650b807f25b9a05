import { Fault } from '../../base/fault.ts';

/** moby's default escape sequence, ctrl-p ctrl-q, for API clients as for the CLI. */
export const defaultDetachKeys = Buffer.from([16, 17]);

/** moby/term ToBytes: comma-separated `ctrl-a`…`ctrl-z`, `ctrl-@`, `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, `DEL` or single characters. */
export function parseDetachKeys(text: string | undefined): Buffer {
  if (!text) return defaultDetachKeys;
  const codes: number[] = [];
  for (const key of text.split(',')) {
    const code = keyCode(key);
    if (code === undefined) throw new Fault('invalid-argument', `Invalid detach keys (${text}) provided`);
    codes.push(code);
  }
  return Buffer.from(codes);
}

const controlKeys = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

function keyCode(key: string): number | undefined {
  if (Buffer.byteLength(key) === 1) return key.charCodeAt(0);
  if (key === 'DEL') return 127;
  // The control codes 0…31 in order, as moby/term's ASCII table names them.
  const code = key.startsWith('ctrl-') && key.length === 6 ? controlKeys.indexOf(key[5]) : -1;
  return code >= 0 ? code : undefined;
}

/**
 * moby/term's escape proxy over the chunks of a stream: a chunk of exactly one byte that continues the
 * sequence is held back; a full sequence detaches; anything else releases what was held in front of it.
 * Like moby, a sequence that arrives in one multi-byte chunk is ordinary input.
 */
export function escapeFilter(keys: Buffer): (chunk: Buffer) => { forward: Buffer; detach: boolean } {
  let matched = 0;
  return (chunk) => {
    if (chunk.length === 1 && chunk[0] === keys[matched]) {
      if (matched === keys.length - 1) return { forward: Buffer.alloc(0), detach: true };
      matched++;
      return { forward: Buffer.alloc(0), detach: false };
    }
    const held = keys.subarray(0, matched);
    matched = 0;
    return { forward: held.length ? Buffer.concat([held, chunk]) : chunk, detach: false };
  };
}
