import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { NamespaceQuota } from './metadata-store.ts';
import type { QuotaShortfall } from './quota-exceeded.ts';

/**
 * Quota rows and namespace usage on the registry tables. A namespace holds the repositories named `ns` and
 * `ns/…`: selected by the range [`ns/`, `ns0`) ('0' follows '/' in byte order), so the primary keys serve it
 * and no LIKE wildcard in a name can widen it.
 */
export class SqliteQuotaQueries {
  readonly #sql: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    const inNamespace = (column: string) => `(${column} = ? OR (${column} >= ? AND ${column} < ?))`;
    // Unique digests: a layer shared by two repositories of the namespace counts once.
    const held = `SELECT digest, size FROM blob_links WHERE ${inNamespace('repository')}
      UNION SELECT digest, size FROM manifests WHERE ${inNamespace('repository')}`;
    this.#sql = {
      set: db.prepare(`INSERT INTO quotas (namespace, limit_bytes, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (namespace) DO UPDATE SET limit_bytes = excluded.limit_bytes, updated_at = excluded.updated_at`),
      get: db.prepare('SELECT limit_bytes FROM quotas WHERE namespace = ?'),
      delete: db.prepare('DELETE FROM quotas WHERE namespace = ?'),
      list: db.prepare('SELECT namespace, limit_bytes FROM quotas ORDER BY namespace'),
      usage: db.prepare(`SELECT COALESCE(SUM(size), 0) AS used FROM (SELECT digest, MAX(size) AS size FROM (${held}) GROUP BY digest)`),
      holds: db.prepare(`SELECT 1 AS found FROM (${held}) WHERE digest = ? LIMIT 1`),
    };
  }

  set(namespace: string, limit: number, now: string): void {
    this.#sql.set.run(namespace, limit, now);
  }

  get(namespace: string): number | undefined {
    const row = this.#sql.get.get(namespace);
    return row ? Number(row.limit_bytes) : undefined;
  }

  delete(namespace: string): boolean {
    return Number(this.#sql.delete.run(namespace).changes) > 0;
  }

  list(): NamespaceQuota[] {
    return this.#sql.list.all().map((row) => {
      const namespace = row.namespace as string;
      return { namespace, limit: Number(row.limit_bytes), used: this.usage(namespace) };
    });
  }

  usage(namespace: string): number {
    return Number(this.#sql.usage.get(...this.#bounds(namespace))?.used ?? 0);
  }

  /**
   * What refuses `blobs` entering the namespace, undefined when they fit (or it has no quota): unique digests
   * it does not hold yet, against its usage. Run inside the transaction that writes the links, so the check and
   * the write are one step for every connection (BEGIN IMMEDIATE serializes writers across processes).
   */
  shortfall(namespace: string, blobs: readonly { digest: string; size: number }[]): QuotaShortfall | undefined {
    const limit = this.get(namespace);
    if (limit === undefined) return undefined;
    let needed = 0;
    const seen = new Set<string>();
    for (const blob of blobs) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      if (!this.holds(namespace, blob.digest)) needed += blob.size;
    }
    if (needed === 0) return undefined;
    const used = this.usage(namespace);
    return used + needed <= limit ? undefined : { namespace, used, limit, needed };
  }

  holds(namespace: string, digest: string): boolean {
    return this.#sql.holds.get(...this.#bounds(namespace), digest) !== undefined;
  }

  #bounds(namespace: string): string[] {
    const range = [namespace, `${namespace}/`, `${namespace}0`];
    return [...range, ...range];
  }
}
