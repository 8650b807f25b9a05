import { z } from 'zod';

export const defaultPageSize = 50;
export const maxPageSize = 100;

/** The `n` of a paged query: 1 to 100, 50 when absent (docs/api.md, pagination). */
export const pageSizeQuery = z
  .string()
  .regex(/^[0-9]{1,3}$/, 'expected a number')
  .transform(Number)
  .refine((n) => n >= 1 && n <= maxPageSize, `expected 1 to ${maxPageSize}`)
  .default(defaultPageSize);

