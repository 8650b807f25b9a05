import pg from 'pg';

/**
 * Counts every query node-postgres' clients send from now on in this process (one query is one round trip:
 * node-postgres pipelines nothing); returns the count so far.
 */
export function countPgQueries(): () => number {
  const counter = { queries: 0 };
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function counted(this: pg.Client, ...args: unknown[]) {
    counter.queries++;
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  return () => counter.queries;
}
