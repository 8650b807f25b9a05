import type { ServerResponse } from 'node:http';

// A property of the response itself: the metrics (registered before the routes) and the handler that writes the
// body meet only there, and it goes with the response.
const counterKey = Symbol('wharf.sentBodyBytes');

type Counted = ServerResponse & { [counterKey]?: (bytes: number) => void };

/** Asks to be told the body bytes a handler writes into `res` itself (the blob GET's copy), by `reportSentBodyBytes`. */
export function countSentBodyBytes(res: ServerResponse, count: (bytes: number) => void): void {
  (res as Counted)[counterKey] = count;
}

/**
 * Tells whoever counts `res`'s body (see `countSentBodyBytes`) that `bytes` more of it were written. Called once
 * per copy rather than per write, so the hot path of a blob download carries no write wrapper.
 */
export function reportSentBodyBytes(res: ServerResponse, bytes: number): void {
  (res as Counted)[counterKey]?.(bytes);
}
