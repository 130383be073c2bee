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
 * Members of reconnecting-websocket that only mirror the `WebSocket` interface for its users:
 * Postern's transport calls its constructor, `addEventListener`, `readyState`, `send`,
 * `reconnect` and `close`, and the library's own code uses none of these (its
 * `removeEventListener` calls are on the native socket). A minifier cannot drop unused class
 * members, so they are cut from its source at build, as its `_debug` calls are (see
 * `terserOptions`): about 200 B of widget.js after gzip. Each must be found (a getter and its
 * setter, a static and an instance getter, count as two), so another version of the library fails
 * the build instead of shipping something unchecked.
 */
const UNUSED_SOCKET_MEMBERS = {
  CLOSING: 2,
  binaryType: 2,
  retryCount: 1,
  bufferedAmount: 1,
  extensions: 1,
  protocol: 1,
  url: 1,
  dispatchEvent: 1,
  removeEventListener: 1,
} as const;

/**
 * Statements that serve only members Postern never uses: the `on…` handler properties (it uses
 * `addEventListener`) and their calls, and the `binaryType` copied onto each socket (Postern's
 * frames are text, and a binary frame is refused whatever its type). Doc comments above removed
 * properties stay. Each must be found exactly once.
 */
const UNUSED_STATEMENTS: readonly string[] = [
  '\n    public onclose: ((event: Events.CloseEvent) => void) | null = null;',
  '\n    public onerror: ((event: Events.ErrorEvent) => void) | null = null;',
  '\n    public onmessage: ((event: MessageEvent) => void) | null = null;',
  '\n    public onopen: ((event: Event) => void) | null = null;',
  "\n    private _binaryType: BinaryType = 'blob';",
  '\n        this._ws!.binaryType = this._binaryType;',
  '\n                this._ws!.binaryType = this._binaryType;',
  '\n        if (this.onopen) {\n            this.onopen(event);\n        }',
  '\n        if (this.onmessage) {\n            this.onmessage(event);\n        }',
  '\n        if (this.onerror) {\n            this.onerror(event);\n        }',
  '\n        if (this.onclose) {\n            this.onclose(event);\n        }',
];

/** Removes {@link UNUSED_SOCKET_MEMBERS} and {@link UNUSED_STATEMENTS} from reconnecting-websocket. */
export function trimReconnectingWebSocket(): Plugin {
  return {
    name: 'postern-trim-reconnecting-websocket',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('reconnecting-websocket/reconnecting-websocket.ts')) return null;
      let trimmed = code;
      for (const [name, expected] of Object.entries(UNUSED_SOCKET_MEMBERS)) {
        // The member with the doc comment above it, up to the brace closing it at the
        // class-member indent (4 spaces in the library's source).
        const member = new RegExp(
          String.raw`(?:\n    /\*\*(?:(?!\*/)[\s\S])*\*/)?\n    (?:static |public )?(?:get |set )?${name}[<(][^{]*\{[\s\S]*?\n    \}(?=\n)`,
          'g',
        );
        const found = trimmed.match(member)?.length ?? 0;
        if (found !== expected) {
          this.error(`reconnecting-websocket: expected ${expected} of ${name}, found ${found}`);
        }
        trimmed = trimmed.replace(member, '');
      }
      for (const statement of UNUSED_STATEMENTS) {
        const found = trimmed.split(statement).length - 1;
        if (found !== 1) {
          this.error(`reconnecting-websocket: expected 1 of ${statement.trim()}, found ${found}`);
        }
        trimmed = trimmed.replace(statement, '');
      }
      return { code: trimmed, map: null };
    },
  };
}

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
    plugins: embed
      ? [trimReconnectingWebSocket(), subresourceIntegrity()]
      : [trimReconnectingWebSocket()],
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
