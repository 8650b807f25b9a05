import type { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import { goJsonMessage } from './go-json.ts';
import { queryInput } from './query-schema.ts';

import type { ApiContext, ParsedInput, RouteSchema } from './router.ts';

type Output<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface RouteInput<S extends RouteSchema> {
  query: Output<S['query']>;
  body: Output<S['body']>;
}

/**
 * The dispatcher's step between matching and handling: nothing acts on a query or body before this has parsed
 * it. A wrong type is refused with encoding/json's text, as moby's decoder refuses it; other refusals carry the
 * text moby gives after decoding.
 */
export function parseRouteInput(schema: RouteSchema, ctx: ApiContext): ParsedInput {
  return {
    schema,
    query: schema.query ? check(schema.query, queryInput(ctx.query), false) : undefined,
    body: schema.body ? check(schema.body, ctx.body, true) : undefined,
  };
}

/** A handler's typed view of what the dispatcher parsed with `schema`. */
export function inputOf<S extends RouteSchema>(schema: S, ctx: ApiContext): RouteInput<S> {
  if (ctx.input?.schema !== schema) throw new Error('route input was not parsed with this schema');
  return ctx.input as unknown as RouteInput<S>;
}

/** Parses a body read outside the dispatcher (the hijacked exec start) the same way. */
export function parseJsonBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return check(schema, body, true) as z.output<T>;
}

function check(schema: z.ZodType, input: unknown, json: boolean): unknown {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // Go reports a decoding error before any check made after decoding.
  const issue = result.error.issues.find((i) => i.code !== 'custom') ?? result.error.issues[0];
  if (issue.code === 'custom' || !json) throw new Fault('invalid-argument', issue.message);
  throw new Fault('invalid-argument', `invalid JSON: ${goJsonMessage(schema, input, issue.path)}`);
}
