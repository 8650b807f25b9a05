/**
 * The web UI's measurements of issue 16, over HTTP against `wharf registry serve` in a process of its own
 * (htpasswd auth, a signed-in user):
 * - first load: the gzipped bytes of the JS and CSS index.html loads (dist/ui, as served; aim ≤ 100 KB);
 * - time to a usable repository list with N repositories (aim < 300 ms): chromium from navigation start to the
 *   first row of the list painted, median of `--loads`: each in a fresh browser context (cold) and reloading
 *   one tab (warm);
 * - search latency (aim < 50 ms server side): GET /api/v1/repositories?q=…&n=50 over keep-alive HTTP, median and
 *   p95, at most `--requests` requests or `--seconds`, whichever ends first. Beside it, as the anchor, the
 *   registry's own catalog page GET /v2/_catalog?n=50 on the same server, interleaved request by request.
 * The repositories are created through the root's MetadataStore before the server starts (no images: the list
 * and the search read repository names only).
 *
 *   node bench/hub.ts [--repositories 10000] [--loads 5] [--requests 400] [--seconds 60]
 */
import { readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/base/config.ts';
import { openMeta } from '../src/main/open-meta.ts';
import { type BrowserPage, ensureUiBuilt, launchBrowser, type TestBrowser } from '../test/support/browser.ts';
import { runOk } from '../test/support/run.ts';
import { makeTempDir } from '../test/support/temp.ts';
import { spawnWharfProcess, type WharfProcess, wharfBin } from '../test/support/wharf.ts';

const { values } = parseArgs({
  options: {
    repositories: { type: 'string', default: '10000' },
    loads: { type: 'string', default: '5' },
    requests: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '60' },
  },
});
const repositories = Number(values.repositories);
const loads = Number(values.loads);
const maxRequests = Number(values.requests);
const maxSeconds = Number(values.seconds);
const dist = resolve(import.meta.dirname, '../dist/ui');

/** `team-17/service-00423`: 100 namespaces, as bench/hub-search.ts names them. */
const nameOf = (i: number) => `team-${String(i % 100).padStart(2, '0')}/service-${String(i).padStart(5, '0')}`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const median = (list: number[]) => percentile([...list].sort((a, b) => a - b), 0.5);

/** The gzipped size of each script and stylesheet index.html loads, from the `.gz` twins build-ui.ts wrote. */
function firstLoadBytes(): { files: [string, number, number][]; gzipped: number; html: number } {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const assets = [...html.matchAll(/(?:src|href)="\/ui\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  const files = assets.map((path): [string, number, number] => [path, statSync(join(dist, path)).size, statSync(join(dist, `${path}.gz`)).size]);
  return { files, gzipped: files.reduce((sum, [, , gz]) => sum + gz, 0), html: statSync(join(dist, 'index.html.gz')).size };
}

async function seed(root: string): Promise<number> {
  const started = performance.now();
  const stores = await openMeta(loadConfig({ overrides: { root } }));
  try {
    for (let i = 0; i < repositories; i++) await stores.meta.ensureRepository(nameOf(i));
  } finally {
    await stores.close();
  }
  await runOk(wharfBin, ['user', 'add', 'alice', '--password-stdin', '--root', root], { input: 'alice-secret\n' });
  return performance.now() - started;
}

// Installed through the DevTools protocol (so the page's CSP does not stop it): notes the page's own clock
// (0 = navigation start) at the first animation frame after the first repository row is in the document.
const firstRowProbe = `new MutationObserver((_, observer) => {
  if (document.querySelector('ul[aria-label="Repositories"] li a')) {
    requestAnimationFrame(() => { window.__firstRow = performance.now(); });
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });`;

async function firstRowAt(tab: BrowserPage): Promise<number> {
  await tab.page.getByRole('list', { name: 'Repositories' }).getByRole('link').first().waitFor();
  for (let tries = 0; tries < 100; tries++) {
    const at = await tab.page.evaluate('window.__firstRow');
    if (typeof at === 'number') return at;
  }
  throw new Error('the first row never painted');
}

async function signedInTab(browser: TestBrowser, wharf: WharfProcess, cookie: string): Promise<BrowserPage> {
  const tab = await browser.newPage();
  const [name, value] = cookie.split(';')[0].split('=');
  await tab.context.addCookies([{ name, value, url: wharf.url }]);
  await tab.page.addInitScript(firstRowProbe);
  return tab;
}

/**
 * Navigation start to the first repository row painted: `cold` in a fresh browser context each time (empty
 * cache, a new renderer process, as a first visit), `warm` reloading one tab (cached assets, as a return visit).
 */
async function timeToList(browser: TestBrowser, wharf: WharfProcess, cookie: string): Promise<{ cold: number[]; warm: number[] }> {
  const cold: number[] = [];
  for (let i = 0; i < loads; i++) {
    const tab = await signedInTab(browser, wharf, cookie);
    try {
      await tab.page.goto(`${wharf.url}/ui/`);
      cold.push(await firstRowAt(tab));
      if (tab.problems.length) throw new Error(`the page had problems: ${tab.problems.join('; ')}`);
    } finally {
      await tab.close();
    }
  }
  const warm: number[] = [];
  const tab = await signedInTab(browser, wharf, cookie);
  try {
    await tab.page.goto(`${wharf.url}/ui/`);
    await firstRowAt(tab);
    for (let i = 0; i < loads; i++) {
      await tab.page.reload();
      warm.push(await firstRowAt(tab));
    }
  } finally {
    await tab.close();
  }
  return { cold, warm };
}

async function latencies(wharf: WharfProcess, cookie: string): Promise<Map<string, number[]>> {
  const cases: [string, string][] = [
    ['GET /api/v1/repositories?q=&n=50', '/api/v1/repositories?n=50'],
    ['GET /api/v1/repositories?q=service-09&n=50', '/api/v1/repositories?n=50&q=service-09'],
    ['GET /api/v1/repositories?q=00042&n=50', '/api/v1/repositories?n=50&q=00042'],
    ['GET /api/v1/repositories?q=nothing&n=50', '/api/v1/repositories?n=50&q=nothing'],
    ['anchor: GET /v2/_catalog?n=50', '/v2/_catalog?n=50'],
  ];
  const headers = { cookie: cookie.split(';')[0], authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}` };
  const samples = new Map<string, number[]>(cases.map(([label]) => [label, []]));
  const deadline = performance.now() + maxSeconds * 1000;
  for (let n = 0; n < maxRequests && performance.now() < deadline; n++) {
    const [label, path] = cases[n % cases.length];
    // The catalog takes the Basic header; the hub's API the session cookie (its Basic would be a bcrypt per call).
    const start = performance.now();
    const res = await fetch(`${wharf.url}${path}`, { headers: path.startsWith('/v2/') ? { authorization: headers.authorization } : { cookie: headers.cookie } });
    await res.arrayBuffer();
    const elapsed = performance.now() - start;
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    samples.get(label)?.push(elapsed);
  }
  return samples;
}

async function main(): Promise<void> {
  await ensureUiBuilt();
  const bytes = firstLoadBytes();
  const tmp = makeTempDir('wharf-bench-hub-');
  const seconds = await seed(tmp.path);
  // Its own process, as in production: the browser's driver here must not share the server's event loop.
  const wharf = await spawnWharfProcess({ root: tmp.path, args: ['--auth', 'htpasswd'] });
  const browser = await launchBrowser();
  try {
    const signIn = await fetch(`${wharf.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'alice-secret' }) });
    const cookie = signIn.headers.get('set-cookie');
    if (signIn.status !== 200 || !cookie) throw new Error(`sign-in answered ${signIn.status}: ${await signIn.text()}`);
    const loadBefore = loadavg()[0];
    await timeToList(browser, wharf, cookie); // warms the server and chromium's own startup, not counted
    const list = await timeToList(browser, wharf, cookie);
    const search = await latencies(wharf, cookie);
    console.log(`${repositories} repositories (created in ${(seconds / 1000).toFixed(1)} s); load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`);
    console.log('\nfirst load (gzipped, as served)');
    for (const [path, raw, gz] of bytes.files) console.log(`  ${path}\t${raw} B raw\t${gz} B gzipped`);
    console.log(`  JS+CSS total\t${bytes.gzipped} B gzipped (${(bytes.gzipped / 1024).toFixed(1)} KiB); index.html ${bytes.html} B gzipped`);
    console.log('\ntime to a usable repository list (navigation start -> first row painted)');
    for (const [label, runs] of Object.entries(list)) console.log(`  ${label}\tmedian ${median(runs).toFixed(0)} ms\truns ${runs.map((t) => t.toFixed(0)).join(', ')}`);
    console.log('\nsearch latency over HTTP (keep-alive, sequential)');
    console.log('  case\trequests\tmedian ms\tp95 ms');
    for (const [label, list] of search) {
      const sorted = [...list].sort((a, b) => a - b);
      console.log(`  ${label}\t${list.length}\t${percentile(sorted, 0.5).toFixed(2)}\t${percentile(sorted, 0.95).toFixed(2)}`);
    }
  } finally {
    await browser.close();
    await wharf.stop();
    tmp.remove();
  }
}

await main();
