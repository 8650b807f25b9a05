import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPostgres } from '../../test/support/postgres.ts';
import { startTestWharf } from '../../test/support/wharf.ts';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('`wharf auth serve` on PostgreSQL counts failed logins with the other replicas (the shared limiter)', async () => {
  const postgres = await startPostgres();
  const servers: Awaited<ReturnType<typeof startTestWharf>>[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      servers.push(await startTestWharf({
        parts: ['token'],
        config: { meta: { url: postgres.url }, auth: { token: { addr: '127.0.0.1:0' }, rateLimit: { failures: 1 } } },
      }));
    }
    const token = (url: string) => fetch(`${url}/auth/token?service=wharf-registry&scope=repository:mallory/app:pull`, { headers: basic('mallory', 'wrong') });
    assert.equal((await token(servers[0].url)).status, 401);
    assert.equal((await token(servers[1].url)).status, 429, 'the failure on the first token server counts on the second');
  } finally {
    for (const server of servers) await server.close();
    await postgres.close();
  }
});
