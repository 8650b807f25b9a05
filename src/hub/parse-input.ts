import type { z } from 'zod';
import { Fault } from '../base/fault.ts';

/** A request's body, query or params through its schema; the first problem becomes a 400 naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : what;
  throw new Fault('invalid-argument', `${field}: ${issue?.message ?? 'invalid'}`, { code: 'INVALID' });
}
