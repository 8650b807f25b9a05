import type { Access, AuthDecision, AuthRequest, Authorizer, Identity } from './authorizer.ts';

/** Auth mode `none`: every request is allowed, as registry:2 without an auth section. */
export class NoneAuthorizer implements Authorizer {
  readonly mode = 'none' as const;

  async authorize(_request: AuthRequest, needs: Access[]): Promise<AuthDecision> {
    return { allowed: true, identity: { admin: true }, granted: needs };
  }

  async filterPullable(_identity: Identity, names: string[]): Promise<string[]> {
    return names;
  }
}
