/** One resource access as in the Docker token spec: `repository:samalba/my-app:pull,push`. */
export interface Access {
  type: 'repository' | 'registry' | string;
  /** Repository name, or `catalog` for `registry:catalog:*`. */
  name: string;
  actions: string[];
}

/**
 * What the HTTP edge knows about a request, protocol-neutral. The registry's dispatcher passes:
 * `{ authorization: headers.authorization, ip: request.ip, protocol: 'v2', host: headers.host }`.
 */
export interface AuthRequest {
  /** Raw `Authorization` header, if any. */
  authorization?: string;
  /** Client address, for CIDR rules and rate limiting. */
  ip: string;
  /** Which protocol asks: it changes the challenge format (v1 answers `X-Docker-Token` flows). */
  protocol: 'v2' | 'v1' | 'web';
  /**
   * `Host` header as the client sent it. Token mode builds the challenge's realm from it
   * (`<scheme>://<host>/auth/token`) unless `auth.token.realm` or `registry.publicUrl` is set; a value that is not
   * a plain host[:port] is ignored in favour of `registry.addr`.
   */
  host?: string;
  /** True when the request came over TLS; defaults to "TLS is configured" (`registry.tls.cert`). */
  secure?: boolean;
}

export interface Identity {
  /** undefined for anonymous callers. */
  account?: string;
  admin: boolean;
  /** Set when the caller signed in with a robot access token (`wharf token create`) instead of a password. */
  tokenId?: string;
  /**
   * A robot token's scopes (names may be globs): the most this identity may ever be granted. The ACL (acl.ts
   * `grant`, `compileAcl`) caps every answer with them, so any caller of the ACL honours them.
   */
  scopes?: Access[];
}

export type AuthDecision =
  | { allowed: true; identity: Identity; granted: Access[] }
  | {
      allowed: false;
      /** 401 when the caller should (re)authenticate, 403 when authenticated but denied, 429 when rate limited. */
      status: 401 | 403 | 429;
      /** The `WWW-Authenticate` header value for 401. */
      challenge?: string;
      /** Registry error code (UNAUTHORIZED, DENIED, TOOMANYREQUESTS). */
      code: string;
      message: string;
      /** `[{Type, Name, Action}]` as distribution puts in UNAUTHORIZED and DENIED details. */
      detail?: unknown;
      /** With 429: seconds the client should wait, for the `Retry-After` header. */
      retryAfter?: number;
    };

/**
 * Decides whether a request may perform the accesses it needs. Implementations: none, htpasswd, token.
 * `authorize` with an empty `needs` list checks only the credentials (the `/v2/` base check).
 * It never throws for bad input (malformed headers, garbage tokens): those are 401 decisions.
 */
export interface Authorizer {
  readonly mode: 'none' | 'htpasswd' | 'token';
  authorize(request: AuthRequest, needs: Access[]): Promise<AuthDecision>;
  /** Filters repository names down to the ones the identity may pull (for `_catalog`, search). */
  filterPullable(identity: Identity, names: string[], ip: string): Promise<string[]>;
}
