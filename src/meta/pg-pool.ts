import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { Fault } from '../base/fault.ts';

export type PgRow = Record<string, unknown>;

export interface PgQueryResult {
  rows: PgRow[];
  rowCount: number;
}

export interface PgPoolOptions {
  /** Most clients held at once; node-postgres' default of 10 unless set. */
  max?: number;
  /** The application_name PostgreSQL shows in pg_stat_activity. */
  applicationName?: string;
  /** How long a query may wait for its answer before it fails 'unavailable' (ms); 0 = none. Default 30 s. */
  queryTimeoutMs?: number;
}

export interface PgQueryOptions {
  /**
   * Overrides the pool's query timeout (ms) for this statement; 0 = none, for what is legitimately long (a full
   * GC listing, a migration, waiting for another replica's migration lock).
   */
  timeoutMs?: number;
  /**
   * Prepares the statement under this name on each connection the first time it runs there, so PostgreSQL parses
   * and plans it once per connection instead of on every call: for the constant statements of the hot read path
   * (a manifest GET). One name per statement text; never for text built at run time.
   */
  name?: string;
}

/**
 * A pool over one PostgreSQL database, shared by every store of a backend (and by the replica helpers: change
 * feed, ingest locks, GC lock). A statement runs on the transaction the caller is inside (see `transaction`),
 * else on any pooled client; so a change spanning stores is one transaction without the stores knowing.
 */
export interface PgPool {
  query(text: string, values?: readonly unknown[], options?: PgQueryOptions): Promise<PgQueryResult>;
  /**
   * Runs `work` in one transaction on one pooled client; calls made inside (through any store on this pool) join
   * it. Retried from the start on a serialization failure or deadlock, so `work` must only touch the database.
   */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /** A client of its own for the caller (LISTEN, session advisory locks); the caller releases it. */
  connect(): Promise<pg.PoolClient>;
  /** The URL without its password, for logs and errors. */
  readonly safeUrl: string;
  close(): Promise<void>;
}

/** For what is legitimately long (a full listing for GC or retention, a migration): no query timeout. */
export const untimedQuery: PgQueryOptions = Object.freeze({ timeoutMs: 0 });

const int8Oid = 20;
const retryableCodes = new Set(['40001', '40P01']);
const maxAttempts = 5;
// A server that does not answer (stopped, partitioned) fails the request instead of holding it and its client.
const connectTimeoutMs = 10_000;
const defaultQueryTimeoutMs = 30_000;

/** Opens a pool on a `postgres://` or `postgresql://` URL; nothing connects until the first query. */
export function openPgPool(url: string, options: PgPoolOptions = {}): PgPool {
  const safeUrl = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    application_name: options.applicationName ?? 'wharf',
    connectionTimeoutMillis: connectTimeoutMs,
    // A peer host gone without a FIN (power loss, partition) is noticed by TCP, not only on the next write.
    keepAlive: true,
    // BIGINT columns (sizes) come back as numbers, as SQLite's do; sizes stay below 2^53.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === int8Oid ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // An idle client losing its server must not crash the process; the next query gets a fresh client.
  pool.on('error', () => {});
  const current = new AsyncLocalStorage<pg.PoolClient>();
  const defaultTimeout = options.queryTimeoutMs ?? defaultQueryTimeoutMs;
  const run = async (client: pg.Pool | pg.PoolClient, text: string, values?: readonly unknown[], queryOptions: PgQueryOptions = {}): Promise<PgQueryResult> => {
    // node-postgres reads `query_timeout || <connection default>`: undefined (no pool default is set) means none.
    const timeout = queryOptions.timeoutMs ?? defaultTimeout;
    try {
      // query_timeout is read by the client (lib/client.js) though @types/pg does not declare it.
      const config: pg.QueryConfig & { query_timeout?: number } = {
        text,
        values: values as unknown[] | undefined,
        query_timeout: timeout > 0 ? timeout : undefined,
        name: queryOptions.name,
      };
      const result = await client.query(config);
      return { rows: result.rows as PgRow[], rowCount: result.rowCount ?? 0 };
    } catch (err) {
      throw asFault(err, safeUrl);
    }
  };
  return {
    safeUrl,
    query: (text, values, queryOptions) => run(current.getStore() ?? pool, text, values, queryOptions),
    transaction: (work) => (current.getStore() ? work() : runTransaction(pool, current, work, (text) => run(current.getStore() ?? pool, text), safeUrl)),
    connect: () => pool.connect(),
    close: () => pool.end(),
  };
}

type Statement = (text: string) => Promise<unknown>;

async function runTransaction<T>(pool: pg.Pool, current: AsyncLocalStorage<pg.PoolClient>, work: () => Promise<T>, statement: Statement, safeUrl: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw asFault(err, safeUrl);
    }
    // A checked-out client has no listener of the pool's: a backend dying mid-transaction emits 'error' on it
    // (besides failing the pending query), and an 'error' nobody listens to kills the process.
    const ignore = () => {};
    client.on('error', ignore);
    try {
      const result = await current.run(client, async () => {
        await statement('BEGIN');
        const value = await work();
        await statement('COMMIT');
        return value;
      });
      release(client, ignore, false);
      return result;
    } catch (err) {
      // A lost or silent server cannot roll back (a ROLLBACK would queue behind the stuck query): its client is
      // thrown away, which ends the transaction as surely.
      const broken = isLost(err) || (await current.run(client, () => statement('ROLLBACK')).then(() => false, () => true));
      release(client, ignore, broken);
      if (attempt < maxAttempts && retryableCodes.has(sqlState(err) ?? '')) continue;
      // Statements fail as Faults already (through `run`); anything else is the caller's own error, kept as thrown.
      throw err;
    }
  }
}

function release(client: pg.PoolClient, listener: () => void, broken: boolean): void {
  client.off('error', listener);
  client.release(broken);
}

function isLost(err: unknown): boolean {
  return err instanceof Fault && err.kind === 'unavailable';
}

function isConnectionState(state: string): boolean {
  return state.startsWith('08') || state.startsWith('57P');
}

/** The SQLSTATE of a PostgreSQL error, also when a Fault wraps it. */
export function sqlState(err: unknown): string | undefined {
  const source = err instanceof Fault ? err.cause : err;
  const code = (source as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Errors from the server keep their SQLSTATE (on `cause`); connection failures and timeouts are 'unavailable'.
 * The message reaches HTTP error bodies, so it names nothing of the database: the URL (user, host, port, name)
 * and the driver's message go on the cause, which only the server's log shows.
 */
function asFault(err: unknown, safeUrl: string): Fault {
  if (err instanceof Fault) return err;
  const state = sqlState(err);
  const cause = Object.assign(new Error(`postgres ${safeUrl}: ${(err as Error).message}`, { cause: err }), { code: state });
  if (state && !isConnectionState(state)) return new Fault('internal', 'metadata database failed', { cause });
  return new Fault('unavailable', 'metadata database unavailable', { cause });
}

/** `postgres://user:secret@host/db?password=x` -> `postgres://user:***@host/db?password=***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|key|token/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}
