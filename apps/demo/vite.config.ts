import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The operator console: a static build the demo server serves from `dist/console`.
export default defineConfig({
  root: fileURLToPath(new URL('console', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Under `script-src 'self'` nothing may be inlined; the polyfill is not needed by ES2022
    // browsers anyway.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
