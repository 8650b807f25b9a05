import { Fault } from '../../base/fault.ts';

const powers: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * A size as docker's go-units reads one (`1MB`, `10 GiB`, `512k`, `1.5G`, `1048576`): decimal multiples of 1000
 * as FromHumanSize, except that an `i` (KiB, MiB, …) asks for multiples of 1024 as RAMInBytes uses, instead
 * of being ignored. The answer is whole bytes.
 */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP]?)([iI]?)[bB]?$/.exec(text.trim());
  if (!match || (match[3] && !match[2])) throw new Fault('invalid-argument', `invalid size: '${text}'`);
  const base = match[3] ? 1024 : 1000;
  const bytes = Math.floor(Number(match[1]) * base ** powers[match[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new Fault('invalid-argument', `size ${text} is too large`);
  return bytes;
}
