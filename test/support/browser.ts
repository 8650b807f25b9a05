import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { runOk } from './run.ts';

const repo = resolve(import.meta.dirname, '../..');
/** Screenshots of the UI tests, kept as CI artifacts (gitignored). */
export const uiArtifacts = join(repo, 'test-artifacts/ui');
const axeScript = join(repo, 'node_modules/axe-core/axe.min.js');

/**
 * Runs scripts/build-ui.ts, which rebuilds dist/ui unless it is newer than every source, so a test never serves a
 * missing or stale bundle. Test files run at once: flock(1) lets one build while the others wait, then find it
 * up to date (the kernel lets go of the lock if the holder dies).
 */
export async function ensureUiBuilt(): Promise<void> {
  mkdirSync(join(repo, 'dist'), { recursive: true });
  await runOk('flock', [join(repo, 'dist/.build-ui.lock'), process.execPath, join(repo, 'scripts/build-ui.ts')], { timeoutMs: 300_000 });
}

export interface BrowserPage {
  context: BrowserContext;
  page: Page;
  /** Console errors, uncaught page errors and failed requests seen so far. */
  problems: string[];
  /** Saves a full-page screenshot as test-artifacts/ui/<name>.png. */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (cookies of its own) and page, watched for console errors and failed requests. */
  newPage(options?: BrowserContextOptions): Promise<BrowserPage>;
  close(): Promise<void>;
}

/** Debian's chromium driven by playwright-core (no browser download). */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  mkdirSync(uiArtifacts, { recursive: true });
  return {
    browser,
    newPage: async (options = {}) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
      const page = await context.newPage();
      const problems = watch(page);
      return {
        context,
        page,
        problems,
        screenshot: async (name) => void (await page.screenshot({ path: join(uiArtifacts, `${name}.png`), fullPage: true })),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Aborted fetches are the app cancelling a stale search, not a failure.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText}`);
  });
  return problems;
}

/**
 * axe-core's WCAG 2 A and AA rules on the page as it is now; any violation fails with the rule, its help and the
 * offending elements. axe-core goes in through the DevTools protocol (page.evaluate), not `addScriptTag`: that
 * adds an inline `<script>`, which the UI's content-security-policy refuses, and the tests keep that policy on.
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(await readFile(axeScript, 'utf8'));
  // A string, not a function: the tests are type-checked without the DOM's types.
  const violations: string[] = await page.evaluate(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } })
    .then((result) => result.violations.map((v) => v.id + ': ' + v.help + ' at ' + v.nodes.map((n) => JSON.stringify(n.target)).join(', ')))`);
  assert.deepEqual(violations, [], `accessibility violations on ${what}`);
}
