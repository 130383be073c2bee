import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type AliasOptions, defineConfig, type Plugin, type TerserOptions } from 'vite';
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

/**
 * reconnecting-websocket is bundled from the TypeScript source its package ships, compiled for our
 * target, not from its ES5 `dist` build: the same code without the `__extends`/`__spread` helpers
 * and `function` prototypes of an ES5 down-level, about 600 B less after gzip. Tests resolve it the
 * same way (vitest.config.ts), so they exercise the code that ships.
 */
export const bundledSources: AliasOptions = [
  {
    find: /^reconnecting-websocket$/,
    replacement: 'reconnecting-websocket/reconnecting-websocket.ts',
  },
];

/**
 * The minifier of widget.js and of the size measurement. Terser with three compress passes beats
 * the default minifier by a few hundred bytes on this code. Property names are mangled only when
 * they start with `_` and a letter: reconnecting-websocket's private members (`_ws`, `_connect`,
 * …), which nothing outside the class reads. Public API, DOM and wire names never start so.
 * reconnecting-websocket's `_debug(…)` calls log only with its `debug` option, which Postern never
 * sets; they are dropped with their message strings (`pure_funcs`), as a production build drops
 * development-only logging.
 */
export const terserOptions: TerserOptions = {
  ecma: 2020,
  compress: { passes: 3, unsafe_arrows: true, pure_getters: true, pure_funcs: ['this._debug'] },
  mangle: { properties: { regex: /^_[A-Za-z]/ } },
  format: { comments: false },
};

// Two builds from one config: the ES module for bundlers and Node (`vite build`), and the
// self-contained script-tag build `widget.js` (`vite build --mode embed`), an IIFE with no imports.
export default defineConfig(({ mode }) => {
  const embed = mode === 'embed';
  return {
    plugins: embed ? [subresourceIntegrity()] : [],
    resolve: { alias: bundledSources },
    build: {
      target: 'es2022',
      outDir: 'dist',
      emptyOutDir: !embed,
      // widget.js is served without its map; a `sourceMappingURL` comment would point nowhere.
      sourcemap: embed ? 'hidden' : true,
      minify: embed ? 'terser' : false,
      terserOptions,
      lib: embed
        ? {
            entry: 'src/embed.ts',
            formats: ['iife'],
            name: 'PosternWidget',
            fileName: () => 'widget.js',
          }
        : { entry: 'src/index.ts', formats: ['es'], fileName: () => 'index.js' },
      // The ES build leaves the protocol package to the consumer's resolver (no duplicate copies)
      // but carries reconnecting-websocket compiled from source (see `bundledSources`); widget.js
      // must be self-contained and bundles everything.
      rollupOptions: { external: embed ? [] : [/^@postern\/protocol/] },
    },
  };
});
