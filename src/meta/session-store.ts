/** One signed-in browser session of the hub (src/hub/auth). The cookie's value is never stored, only its sha256. */
export interface SessionRecord {
  /** sha256 (hex) of the cookie's value. */
  idHash: string;
  user: string;
  /** sha256 (hex) of the password hash the session was made under: another hash on record voids the session. */
  credential: string;
  /** Sent back by the browser in `x-csrf-token` on every write. */
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
}

/** The hub's sessions (migration scope 'sessions'); every read goes to the database so replicas agree. */
export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | undefined>;
  /** Records a use; never moves last-seen back. */
  touch(idHash: string, at: string): Promise<void>;
  /** Returns false when there was no such session. */
  delete(idHash: string): Promise<boolean>;
  /** Ends every session of a user (disabled, deleted, new password); returns how many. */
  deleteUser(user: string): Promise<number>;
  /** Ends all but the `keep` newest sessions of a user (by creation); returns how many ended. */
  keepNewest(user: string, keep: number): Promise<number>;
  /** Removes the sessions expired at `now` (ISO 8601); returns how many. */
  deleteExpired(now: string): Promise<number>;
}
