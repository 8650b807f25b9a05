/** A peer's JSON that may not be JSON at all: undefined then, for the caller's schema to refuse with its wording. */
export function jsonOrUndefined(text: string | Buffer): unknown {
  try {
    return JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    return undefined;
  }
}
