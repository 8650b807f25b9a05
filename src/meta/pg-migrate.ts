import { migrationScopes, renderMigration } from './migrations.ts';
import { type PgPool, untimedQuery } from './pg-pool.ts';

// pg_advisory_xact_lock key held while migrating: replicas starting at once apply each migration once.
const migrationLockKey = 0x77686d31;

/**
 * Brings a PostgreSQL database to the current schema: every scope of `migrationScopes`, each migration in a
 * transaction of its own under an advisory lock, recorded in schema_migrations as on SQLite.
 */
export async function migratePostgres(pool: PgPool): Promise<void> {
  await pool.transaction(async () => {
    // Waiting for another replica's migration, and a migration itself (an index on a big table), may be long.
    await pool.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey], untimedQuery);
    await pool.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      scope VARCHAR(64) COLLATE "C" NOT NULL,
      version INTEGER NOT NULL,
      applied_at VARCHAR(40) NOT NULL,
      PRIMARY KEY (scope, version)
    )`);
  });
  for (const { scope, migrations } of migrationScopes) {
    for (let version = 1; version <= migrations.length; version++) {
      await pool.transaction(async () => {
        await pool.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey], untimedQuery);
        const applied = await pool.query('SELECT 1 FROM schema_migrations WHERE scope = $1 AND version = $2', [scope, version]);
        if (applied.rowCount > 0) return;
        await pool.query(renderMigration(migrations[version - 1], 'postgres'), [], untimedQuery);
        await pool.query('INSERT INTO schema_migrations (scope, version, applied_at) VALUES ($1, $2, $3)', [scope, version, new Date().toISOString()]);
      });
    }
  }
}
