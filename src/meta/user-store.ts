export interface UserRecord {
  name: string;
  /** bcrypt hash ($2a$/$2b$/$2y$). */
  passwordHash: string;
  admin: boolean;
  email: string;
  createdAt: string;
  /** A disabled user's password, robot tokens and hub sessions are refused everywhere (`wharf user disable`). */
  disabled: boolean;
}

/** A user as added: not disabled unless said. */
export type NewUser = Omit<UserRecord, 'disabled'> & { disabled?: boolean };

export type UserChanges = Partial<Pick<UserRecord, 'passwordHash' | 'admin' | 'email' | 'disabled'>>;

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
  addUser(user: NewUser): Promise<void>;
  /** Only the given fields change. Throws Fault not-found when the user does not exist. */
  updateUser(name: string, changes: UserChanges): Promise<void>;
  /** Removes the user and revokes their tokens. Returns false when absent. */
  deleteUser(name: string): Promise<boolean>;
  listUsers(): Promise<UserRecord[]>;

  addToken(token: AccessTokenRecord): Promise<void>;
  getToken(id: string): Promise<AccessTokenRecord | undefined>;
  listTokens(user?: string): Promise<AccessTokenRecord[]>;
  revokeToken(id: string, at: string): Promise<boolean>;
}
