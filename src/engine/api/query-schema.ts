import { z } from 'zod';
import { checkFilterKeys, parseFilters, type Filters } from './query.ts';

/**
 * Zod builders for query parameters as moby reads them from `r.Form`: each parameter arrives as the list of its
 * values (`?t=a&t=b`), a single-valued one is its first value (Go's Form.Get), and unknown ones are ignored.
 * Each builder records its kind as metadata so the schema tests can build a wrong value for it.
 */
export interface QueryMeta {
  query: 'string' | 'list' | 'bool' | 'int' | 'uint32' | 'enum' | 'filters' | 'json-map';
  enum?: readonly string[];
}

export type QueryInput = Record<string, string[]>;

const values = () => z.array(z.string()).optional();

function param<T>(meta: QueryMeta, parse: (first: string | undefined, all: string[], ctx: z.RefinementCtx) => T) {
  return values()
    .transform((all, ctx) => parse(all?.[0], all ?? [], ctx))
    .meta({ ...meta });
}

function refuse(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/** The first value, or undefined when absent or empty (moby treats both alike). */
export const qString = () => param({ query: 'string' }, (first) => first || undefined);

/** Every non-empty value (`changes`, build `t`, save `names`). */
export const qList = () => param({ query: 'list' }, (_first, all) => all.filter(Boolean));

/** httputils.BoolValue: anything but "", 0, no, false, none (any case) is true; absent is `fallback`. */
export const qBool = (fallback = false) =>
  param({ query: 'bool' }, (first) => (first === undefined ? fallback : !['', '0', 'no', 'false', 'none'].includes(first.trim().toLowerCase())));

/** strconv.Atoi, with its error text (moby passes it through); absent or empty is undefined. */
export const qInt = () =>
  param({ query: 'int' }, (first, _all, ctx) => {
    if (!first) return undefined;
    if (!/^[+-]?\d+$/.test(first)) return refuse(ctx, `strconv.Atoi: parsing ${JSON.stringify(first)}: invalid syntax`);
    const n = Number(first);
    if (!Number.isSafeInteger(n)) return refuse(ctx, `strconv.Atoi: parsing ${JSON.stringify(first)}: value out of range`);
    return n;
  });

/** httputils.Uint32Value (resize): required; `what` names it as moby does (`invalid resize height "x": …`). */
export const qUint32 = (what: string) =>
  param({ query: 'uint32' }, (first, _all, ctx) => {
    const text = first ?? '';
    const digits = text.replace(/^-/, '');
    if (!/^\d+$/.test(digits)) return refuse(ctx, `invalid ${what} ${JSON.stringify(text)}: invalid syntax`);
    if (text.startsWith('-') || Number(digits) > 2 ** 32 - 1) return refuse(ctx, `invalid ${what} ${JSON.stringify(text)}: value out of range`);
    return Number(digits);
  });

/** One of `allowed`, or undefined when absent or empty. */
export function qEnum<const V extends readonly string[]>(allowed: V, message: (value: string) => string) {
  return param({ query: 'enum', enum: allowed }, (first, _all, ctx): V[number] | undefined => {
    if (!first) return undefined;
    if (!allowed.includes(first)) return refuse(ctx, message(first));
    return first;
  });
}

/** `filters`, JSON as the CLI sends it, limited to the keys a listing knows (moby: `invalid filter 'x'`). */
export const qFilters = (keys: readonly string[]) =>
  param({ query: 'filters' }, (first, _all, ctx): Filters => {
    try {
      const filters = parseFilters(first ?? null);
      checkFilterKeys(filters, keys);
      return filters;
    } catch (err) {
      return refuse(ctx, (err as Error).message);
    }
  });

/** A JSON object of strings (`buildargs`, `labels`); null values, sent for unset build args, are dropped. */
export const qJsonMap = (what: string) =>
  param({ query: 'json-map' }, (first, _all, ctx): Record<string, string> => {
    if (!first) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(first);
    } catch {
      return refuse(ctx, `${what} is not JSON`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return refuse(ctx, `${what} must be a JSON object`);
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  });

export function queryMetaOf(schema: z.ZodType): QueryMeta | undefined {
  return z.globalRegistry.get(schema) as QueryMeta | undefined;
}

/** Every value of every parameter, the input of a query schema. */
export function queryInput(query: URLSearchParams): QueryInput {
  const out: QueryInput = {};
  for (const [key, value] of query) (out[key] ??= []).push(value);
  return out;
}
