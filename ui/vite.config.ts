// Builds the registry's web UI (ui/src) into dist/ui, which `berth registry serve` serves
// at /ui/. Run from the package root (npm run build). Preact's JSX is compiled by Vite's
// own transformer; no plugin is needed. Nothing is inlined into index.html, so the
// Content-Security-Policy can forbid inline script and style.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'ui',
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
