export interface UserRecord {
  name: string;
  /** bcrypt hash ($2a$/$2b$/$2y$). */
  passwordHash: string;
  admin: boolean;
  email: string;
  createdAt: string;
}

export interface AccessTokenRecord {
  id: string;
  user: string;
  /** sha256 of the secret: the secret itself is shown once and never stored. */
  secretHash: string;
  scopes: string[];
  description: string;
  createdAt: string;
  revokedAt?: string;
}

/** Accounts and robot access tokens, shared by the v2 auth and the v1 index. */
export interface UserStore {
  getUser(name: string): Promise<UserRecord | undefined>;
  /** Throws Fault already-exists when the name is taken. */
  addUser(user: UserRecord): Promise<void>;
  updateUser(name: string, changes: Partial<Pick<UserRecord, 'passwordHash' | 'admin' | 'email'>>): Promise<void>;
  /** Removes the user and revokes their tokens. Returns false when absent. */
  deleteUser(name: string): Promise<boolean>;
  listUsers(): Promise<UserRecord[]>;

  addToken(token: AccessTokenRecord): Promise<void>;
  getToken(id: string): Promise<AccessTokenRecord | undefined>;
  listTokens(user?: string): Promise<AccessTokenRecord[]>;
  revokeToken(id: string, at: string): Promise<boolean>;
}
