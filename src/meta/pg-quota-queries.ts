import type { NamespaceQuota } from './metadata-store.ts';
import type { PgPool } from './pg-pool.ts';
import type { QuotaShortfall } from './quota-exceeded.ts';

// A namespace holds `ns` and `ns/…`: the range [`ns/`, `ns0`) in byte order ('0' follows '/'), as on SQLite.
const inNamespace = (column: string) => `(${column} = $1 OR (${column} >= $2 AND ${column} < $3))`;
// Unique digests: a layer shared by two repositories of the namespace counts once.
const held = `SELECT digest, size FROM blob_links WHERE ${inNamespace('repository')}
  UNION SELECT digest, size FROM manifests WHERE ${inNamespace('repository')}`;

/** Quota rows and namespace usage on PostgreSQL: the statements of SqliteQuotaQueries in its dialect. */
export class PgQuotaQueries {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async set(namespace: string, limit: number, now: string): Promise<void> {
    await this.#pool.query(
      `INSERT INTO quotas (namespace, limit_bytes, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (namespace) DO UPDATE SET limit_bytes = excluded.limit_bytes, updated_at = excluded.updated_at`,
      [namespace, limit, now],
    );
  }

  async get(namespace: string): Promise<number | undefined> {
    const { rows } = await this.#pool.query('SELECT limit_bytes FROM quotas WHERE namespace = $1', [namespace]);
    return rows[0] ? Number(rows[0].limit_bytes) : undefined;
  }

  async delete(namespace: string): Promise<boolean> {
    return (await this.#pool.query('DELETE FROM quotas WHERE namespace = $1', [namespace])).rowCount > 0;
  }

  async list(): Promise<NamespaceQuota[]> {
    const { rows } = await this.#pool.query('SELECT namespace, limit_bytes FROM quotas ORDER BY namespace');
    const quotas: NamespaceQuota[] = [];
    for (const row of rows) {
      const namespace = row.namespace as string;
      quotas.push({ namespace, limit: Number(row.limit_bytes), used: await this.usage(namespace) });
    }
    return quotas;
  }

  async usage(namespace: string): Promise<number> {
    const { rows } = await this.#pool.query(
      `SELECT COALESCE(SUM(size), 0) AS used FROM (SELECT digest, MAX(size) AS size FROM (${held}) AS h GROUP BY digest) AS u`,
      bounds(namespace),
    );
    return Number(rows[0]?.used ?? 0);
  }

  /**
   * What refuses `blobs` entering the namespace, undefined when they fit or it has no quota (QuotaCheck). Call
   * inside the transaction that writes the links: the quota row is locked first (FOR UPDATE), so checked writes
   * into one namespace take turns and each reads the usage its predecessor committed (READ COMMITTED).
   */
  async shortfall(namespace: string, blobs: readonly { digest: string; size: number }[]): Promise<QuotaShortfall | undefined> {
    const { rows } = await this.#pool.query('SELECT limit_bytes FROM quotas WHERE namespace = $1 FOR UPDATE', [namespace]);
    if (!rows[0]) return undefined;
    const limit = Number(rows[0].limit_bytes);
    let needed = 0;
    for (const blob of new Map(blobs.map((b) => [b.digest, b])).values()) {
      if (!(await this.holds(namespace, blob.digest))) needed += blob.size;
    }
    if (needed === 0) return undefined;
    const used = await this.usage(namespace);
    return used + needed <= limit ? undefined : { namespace, used, limit, needed };
  }

  async holds(namespace: string, digest: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(`SELECT 1 FROM (${held}) AS h WHERE digest = $4 LIMIT 1`, [...bounds(namespace), digest]);
    return rowCount > 0;
  }
}

function bounds(namespace: string): string[] {
  return [namespace, `${namespace}/`, `${namespace}0`];
}
