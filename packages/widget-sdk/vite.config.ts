import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { SDK_VERSION } from './src/version.js';

/**
 * Prints the Subresource Integrity hash of `widget.js` and writes it to `dist/widget.js.sri`, for
 * snippets that load the immutable `/widget/<version>/widget.js` with `integrity`. The server serves
 * this very file at both paths, so the hash holds for the bytes it sends.
 */
function subresourceIntegrity(): Plugin {
  let outDir = 'dist';
  return {
    name: 'postern-sri',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    writeBundle(_options, bundle) {
      const file = bundle['widget.js'];
      if (file?.type !== 'chunk') return;
      const integrity = `sha384-${createHash('sha384').update(file.code).digest('base64')}`;
      writeFileSync(resolve(outDir, 'widget.js.sri'), `${integrity}\n`);
      this.info(`/widget/${SDK_VERSION}/widget.js integrity="${integrity}"`);
    },
  };
}

// Two builds from one config: the ES module for bundlers and Node (`vite build`), and the
// self-contained script-tag build `widget.js` (`vite build --mode embed`), an IIFE with no imports.
export default defineConfig(({ mode }) => {
  const embed = mode === 'embed';
  return {
    plugins: embed ? [subresourceIntegrity()] : [],
    build: {
      target: 'es2022',
      outDir: 'dist',
      emptyOutDir: !embed,
      // widget.js is served without its map; a `sourceMappingURL` comment would point nowhere.
      sourcemap: embed ? 'hidden' : true,
      minify: embed,
      lib: embed
        ? {
            entry: 'src/embed.ts',
            formats: ['iife'],
            name: 'PosternWidget',
            fileName: () => 'widget.js',
          }
        : { entry: 'src/index.ts', formats: ['es'], fileName: () => 'index.js' },
      // The ES build leaves its dependencies to the consumer's resolver (no duplicate copies);
      // widget.js must be self-contained and bundles everything.
      rollupOptions: { external: embed ? [] : [/^@postern\/protocol/, /^reconnecting-websocket/] },
    },
  };
});
