import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../../test/support/ports.ts';
import { metricValue, scrapeMetrics } from '../../../test/support/prometheus-text.ts';
import { runOk } from '../../../test/support/run.ts';
import { startTestWharf, wharfBin } from '../../../test/support/wharf.ts';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('`wharf auth serve` counts tokens issued and auth failures on auth.token.metricsAddr', async () => {
  const port = await freePort();
  const tokenServer = await startTestWharf({
    parts: ['token'],
    config: { auth: { token: { addr: '127.0.0.1:0', metricsAddr: `127.0.0.1:${port}` }, rateLimit: { failures: 1 } } },
  });
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  try {
    await runOk(wharfBin, ['user', 'add', 'carol', '--password-stdin', '--root', tokenServer.root], { input: 'carol-pw\n' });
    const token = (headers: Record<string, string>) => fetch(`${tokenServer.url}/auth/token?service=wharf-registry&scope=repository:carol/app:pull`, { headers });
    for (let i = 0; i < 2; i++) assert.equal((await token(basic('carol', 'carol-pw'))).status, 200);
    assert.equal((await token(basic('mallory', 'wrong'))).status, 401);
    assert.equal((await token(basic('mallory', 'wrong again'))).status, 429);

    const samples = await scrapeMetrics(metricsUrl);
    assert.equal(metricValue(samples, 'wharf_auth_tokens_issued_total'), 2);
    assert.equal(metricValue(samples, 'wharf_auth_failures_total', { route: 'token', reason: 'unauthenticated' }), 1);
    assert.equal(metricValue(samples, 'wharf_auth_failures_total', { route: 'token', reason: 'rate_limited' }), 1);
    assert.equal(metricValue(samples, 'wharf_auth_http_requests_total', { route: 'token', method: 'GET', code: '200' }), 2);
    assert.equal(metricValue(samples, 'wharf_auth_http_request_duration_seconds_count', { route: 'token', method: 'GET' }), 4);
    assert.ok(metricValue(samples, 'process_cpu_seconds_total') > 0, 'process metrics too');
    // The token server's own address does not serve them: the listener of their own does.
    assert.equal((await fetch(`${tokenServer.url}/metrics`)).status, 404);
  } finally {
    await tokenServer.close();
  }
  await assert.rejects(fetch(metricsUrl), 'closed with the token server');
});
