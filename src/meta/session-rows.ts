import type { SessionRecord } from './session-store.ts';

/** A row of sessions as either engine returns it. */
export function toSession(row: Record<string, unknown>): SessionRecord {
  return {
    idHash: row.id_hash as string,
    user: row.user_name as string,
    credential: row.credential as string,
    csrfToken: row.csrf_token as string,
    createdAt: row.created_at as string,
    expiresAt: row.expires_at as string,
    lastSeenAt: row.last_seen_at as string,
  };
}

export const insertSessionColumns = 'id_hash, user_name, credential, csrf_token, created_at, expires_at, last_seen_at';

export function sessionValues(s: SessionRecord): string[] {
  return [s.idHash, s.user, s.credential, s.csrfToken, s.createdAt, s.expiresAt, s.lastSeenAt];
}
