/** Migrations of the 'auth' scope (users, robot tokens), append-only: never edit one that has shipped. */
export const authMigrations: readonly string[] = [
  `CREATE TABLE users (
    name VARCHAR(255) PRIMARY KEY,
    password_hash VARCHAR(100) NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    email VARCHAR(255) NOT NULL DEFAULT '',
    created_at VARCHAR(40) NOT NULL
  );
  CREATE TABLE access_tokens (
    id VARCHAR(64) PRIMARY KEY,
    user_name VARCHAR(255) NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    secret_hash VARCHAR(100) NOT NULL,
    scopes TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at VARCHAR(40) NOT NULL,
    revoked_at VARCHAR(40)
  );
  CREATE INDEX access_tokens_user ON access_tokens(user_name);`,
  // Secrets every process on one database must agree on (the v1 index tokens' HMAC key): see secret-store.ts.
  `CREATE TABLE auth_secrets (
    name VARCHAR(64) PRIMARY KEY,
    secret VARCHAR(128) NOT NULL,
    created_at VARCHAR(40) NOT NULL
  );`,
  // `wharf user disable`: the account stays (its repositories, its tokens' history) but nothing of it signs in.
  `ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;`,
];
