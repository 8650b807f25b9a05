import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The browser app (src/web/ui) bundled into <repo>/dist/ui, served by the registry under /ui/ (src/hub/static-ui.ts).
export default defineConfig({
  root: import.meta.dirname,
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: resolve(import.meta.dirname, '../../dist/ui'),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // Every script is a file: the content-security-policy allows no inline script.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
