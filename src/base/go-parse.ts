/*
 * Go's strconv.ParseBool and time.ParseDuration, for values moby parses with them (query flags, Dockerfile and
 * log options): one reading of each across the codebase.
 */

/** The spellings strconv.ParseBool takes, true ones first. */
export const goTrueTexts = ['1', 't', 'T', 'TRUE', 'true', 'True'] as const;
export const goFalseTexts = ['0', 'f', 'F', 'FALSE', 'false', 'False'] as const;
export const goBoolTexts = [...goTrueTexts, ...goFalseTexts] as const;

/** strconv.ParseBool; undefined for anything else. */
export function parseGoBool(text: string): boolean | undefined {
  if ((goTrueTexts as readonly string[]).includes(text)) return true;
  if ((goFalseTexts as readonly string[]).includes(text)) return false;
  return undefined;
}

const unitNs: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration (unsigned) in nanoseconds: `30s`, `1m30s`, `500ms`, `1.5h`, `0`; undefined otherwise. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) return undefined;
  return Math.round(parts.reduce((sum, [, value, unit]) => sum + Number(value) * unitNs[unit], 0));
}
