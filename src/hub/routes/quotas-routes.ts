import type { FastifyInstance } from 'fastify';
import type { QuotaRow } from '../../web/api-types.ts';
import type { HubDeps } from '../hub-deps.ts';

/** GET /api/v1/quotas (admins): every namespace quota with its usage in bytes (docs/api.md). */
export function registerQuotasRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'stores'>): void {
  api.get('/quotas', async (request): Promise<{ quotas: QuotaRow[] }> => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    const quotas = await deps.stores.meta.listQuotas();
    return { quotas: quotas.map(({ namespace, limit, used }) => ({ namespace, limit, used })) };
  });
}
