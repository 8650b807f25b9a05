/**
 * Migrations of the 'sessions' scope (the hub's browser sessions), append-only. No foreign key to users: an
 * htpasswd account has no row there, and a session is checked against the account on every use anyway.
 */
export const sessionMigrations: readonly string[] = [
  `CREATE TABLE sessions (
    id_hash VARCHAR(64) PRIMARY KEY,
    user_name VARCHAR(255) NOT NULL,
    credential VARCHAR(64) NOT NULL,
    csrf_token VARCHAR(64) NOT NULL,
    created_at VARCHAR(40) NOT NULL,
    expires_at VARCHAR(40) NOT NULL,
    last_seen_at VARCHAR(40) NOT NULL
  );
  CREATE INDEX sessions_by_user ON sessions(user_name);
  CREATE INDEX sessions_by_expiry ON sessions(expires_at);`,
];
