import type { Access, AuthDecision } from './authorizer.ts';

/** distribution's UNAUTHORIZED / DENIED detail: one `{Type, Name, Action}` per needed action. */
export function accessDetail(needs: Access[]): { Type: string; Name: string; Action: string }[] {
  return needs.flatMap((n) => n.actions.map((action) => ({ Type: n.type, Name: n.name, Action: action })));
}

export function unauthorized(challenge: string, needs: Access[], message = 'authentication required'): AuthDecision {
  return { allowed: false, status: 401, challenge, code: 'UNAUTHORIZED', message, detail: accessDetail(needs) };
}

export function rateLimited(retryAfter: number): AuthDecision {
  return {
    allowed: false,
    status: 429,
    code: 'TOOMANYREQUESTS',
    message: `too many failed logins, retry in ${retryAfter} seconds`,
    detail: { retryAfter },
    retryAfter,
  };
}

export function denied(needs: Access[]): AuthDecision {
  return { allowed: false, status: 403, code: 'DENIED', message: 'requested access to the resource is denied', detail: accessDetail(needs) };
}
