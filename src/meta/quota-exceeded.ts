import { Fault } from '../base/fault.ts';

/** Why a write into a namespace was refused: what it uses, its limit, and the new bytes the write brings. */
export interface QuotaShortfall {
  namespace: string;
  used: number;
  limit: number;
  needed: number;
}

/**
 * The refusal every MetadataStore throws when a quota-checked write does not fit (`DENIED`, which `docker push`
 * prints with the message): one wording for SQLite and PostgreSQL.
 */
export function quotaExceeded(shortfall: QuotaShortfall): Fault {
  const { namespace, used, limit, needed } = shortfall;
  return new Fault('permission-denied', `quota exceeded: namespace ${namespace} uses ${used} of ${limit} bytes, this push needs ${needed} more`, {
    code: 'DENIED',
    detail: { namespace, used, limit, needed },
  });
}
