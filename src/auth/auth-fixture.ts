import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import bcrypt from 'bcryptjs';
import { type ConfigInput, loadConfig, type Config } from '../base/config.ts';
import { openDatabase } from '../meta/sqlite-database.ts';
import { SqliteUserStore } from '../meta/sqlite-user-store.ts';
import { newAccessToken } from './accounts.ts';
import { type AuthServices, createAuthServices } from './create-authorizer.ts';

export interface AuthFixture {
  config: Config;
  db: DatabaseSync;
  users: SqliteUserStore;
  auth: AuthServices;
  /** Moves the injected clock. */
  advance(ms: number): void;
  now(): number;
  addUser(name: string, password: string, options?: { admin?: boolean }): Promise<void>;
  /** A robot token for `user`; returns the password to present. */
  addRobot(user: string, scopes: string[]): Promise<{ id: string; password: string }>;
  close(): void;
}

/**
 * The auth part on an in-memory database (keys in a temp root) with a movable clock, for unit tests of the authorizers, the token
 * routes and the CLI. Passwords are hashed at bcrypt's lowest cost to keep tests fast.
 */
export async function createAuthFixture(config: ConfigInput = {}): Promise<AuthFixture> {
  const root = mkdtempSync(join(tmpdir(), 'wharf-auth-'));
  const full = loadConfig({ overrides: { root, ...config } });
  const db = openDatabase(':memory:');
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const users = new SqliteUserStore(db);
  const auth = await createAuthServices({ config: full, users, clock: () => clock });
  return {
    config: full,
    db,
    users,
    auth,
    advance: (ms) => {
      clock += ms;
    },
    now: () => clock,
    addUser: async (name, password, options = {}) =>
      users.addUser({ name, passwordHash: await bcrypt.hash(password, 4), admin: options.admin ?? false, email: '', createdAt: new Date(clock).toISOString() }),
    addRobot: async (user, scopes) => {
      const token = newAccessToken();
      await users.addToken({ id: token.id, user, secretHash: token.secretHash, scopes, description: '', createdAt: new Date(clock).toISOString() });
      return { id: token.id, password: token.password };
    },
    close: () => {
      db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
