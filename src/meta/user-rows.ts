import type { AccessTokenRecord, UserRecord } from './user-store.ts';

/** A row of users or access_tokens as either engine returns it: column name -> value. */
type Row = Record<string, unknown>;

export function toUser(row: Row): UserRecord {
  return {
    name: row.name as string,
    passwordHash: row.password_hash as string,
    admin: row.admin === 1,
    email: row.email as string,
    createdAt: row.created_at as string,
    disabled: row.disabled === 1,
  };
}

export function toToken(row: Row): AccessTokenRecord {
  return {
    id: row.id as string,
    user: row.user_name as string,
    secretHash: row.secret_hash as string,
    scopes: parseScopeList(row.scopes as string),
    description: row.description as string,
    createdAt: row.created_at as string,
    revokedAt: (row.revoked_at as string | null) ?? undefined,
  };
}

// A scopes column written by hand or by an older wharf reads as no scopes rather than failing every login.
function parseScopeList(text: string): string[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

/** A boolean column's new value, or null to keep it (COALESCE). */
export function flag(value: boolean | undefined): number | null {
  return value === undefined ? null : value ? 1 : 0;
}
