import { parseGoDuration } from '../../base/go-parse.ts';
import { Fault } from '../../base/fault.ts';

/** Filters as the CLI sends them: `{"key":{"value":true}}`, or the legacy `{"key":["value"]}`. */
export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | null): Filters {
  const filters: Filters = new Map();
  if (!raw) return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new Fault('invalid-argument', `invalid filter: ${(cause as Error).message}`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Fault('invalid-argument', 'invalid filter: not an object');
  for (const [key, value] of Object.entries(parsed)) {
    // moby's filters.FromJSON takes map[string]map[string]bool, or the legacy map[string][]string.
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) filters.set(key, value);
    else if (isBoolMap(value)) filters.set(key, Object.keys(value).filter((k) => value[k]));
    else throw new Fault('invalid-argument', 'invalid filter');
  }
  return filters;
}

function isBoolMap(value: unknown): value is Record<string, boolean> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'boolean');
}

/** Rejects filter keys a listing does not know, with moby's wording. */
export function checkFilterKeys(filters: Filters, allowed: readonly string[]): void {
  for (const key of filters.keys()) {
    if (!allowed.includes(key)) throw new Fault('invalid-argument', `invalid filter '${key}'`);
  }
}

/** `label=k` matches when the key exists, `label=k=v` when it has that value. */
export function matchesLabels(labels: Record<string, string> | null | undefined, wanted: string[] | undefined): boolean {
  if (!wanted?.length) return true;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return labels?.[w] !== undefined;
    return labels?.[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** Times given as unix seconds (`1700000000.123`), RFC3339, or durations relative to now (`10m`, `1h30m`). */
export function parseTimestamp(value: string, nowMs: number): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const ns = parseGoDuration(value);
  const duration = ns === undefined ? undefined : ns / 1e6;
  if (duration !== undefined) return nowMs - duration;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Fault('invalid-argument', `invalid timestamp "${value}"`);
  return ms;
}
