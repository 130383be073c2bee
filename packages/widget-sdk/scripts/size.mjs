#!/usr/bin/env node
/**
 * Bundle sizes, measured one way for everything: a minified ES module bundle with all its
 * dependencies (Vite 8 / Rolldown, target es2022, browser resolution, minified with the terser
 * settings of widget.js from vite.config.ts), then gzip at level 9 (zlib). Results in bytes.
 *
 *   node scripts/size.mjs           the table for the README: Postern and the libraries it is
 *                                   compared with
 *   node scripts/size.mjs --json    Postern only, as JSON (the budget test reads this)
 *
 * "Headless core" is the bundle of `export { PosternClient }` with everything it imports,
 * resolved as the SDK's own builds resolve it. "widget.js" is the built script-tag file as served
 * (it loads nothing else), so build first. The compared libraries are bundled as published, with
 * the same compression and mangling but without property mangling and without dropping
 * `this._debug(…)` calls, which only hold for the SDK's own code and settings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, loadConfigFromFile } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = '\0size-entry.js';

/** The SDK's resolution, source transforms and minifier settings, read from its vite.config.ts. */
async function sdkSettings() {
  const loaded = await loadConfigFromFile(
    { command: 'build', mode: 'production' },
    fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    root,
    'silent',
  );
  const { resolve, plugins = [], build: options } = loaded?.config ?? {};
  if (!resolve || !options?.terserOptions) throw new Error('vite.config.ts has no SDK settings');
  return { resolve, plugins, terserOptions: options.terserOptions };
}

/**
 * Minified ES bundle of `source` (an entry module's code) with its dependencies inlined.
 * `sdk: true` resolves, transforms and mangles as the SDK's builds do; otherwise packages resolve
 * as published and no property is mangled.
 */
export async function bundle(source, { sdk = false } = {}) {
  const settings = await sdkSettings();
  // For the compared libraries: the same compression and name mangling, without what only holds
  // for the SDK (property mangling of `_` names, calls dropped as debug-only).
  const { mangle, compress, ...terserOptions } = settings.terserOptions;
  const { pure_funcs, ...published } = compress;
  const output = await build({
    configFile: false,
    root,
    logLevel: 'silent',
    ...(sdk ? { resolve: settings.resolve } : {}),
    plugins: [
      ...(sdk ? settings.plugins : []),
      {
        name: 'size-entry',
        resolveId: (id) => (id === ENTRY ? ENTRY : null),
        load: (id) => (id === ENTRY ? source : null),
      },
    ],
    build: {
      write: false,
      target: 'es2022',
      minify: 'terser',
      terserOptions: sdk
        ? settings.terserOptions
        : { ...terserOptions, compress: published, mangle: true },
      modulePreload: false,
      // Not lib mode: Vite keeps whitespace in ES libraries, which would not be a fair minified size.
      rollupOptions: { input: ENTRY, preserveEntrySignatures: 'strict' },
    },
  });
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((result) =>
    'output' in result ? result.output : [],
  );
  return chunks
    .filter((chunk) => chunk.type === 'chunk')
    .map((chunk) => chunk.code)
    .join('\n');
}

/** `{min, gzip}`: minified bytes and gzip -9 bytes. */
export function sizeOf(code) {
  return { min: Buffer.byteLength(code), gzip: gzipSync(code, { level: 9 }).length };
}

const WIDGET = fileURLToPath(new URL('../dist/widget.js', import.meta.url));

export async function measurePostern() {
  const core = sizeOf(
    await bundle("export { PosternClient } from '/src/client/client.ts';", { sdk: true }),
  );
  if (!existsSync(WIDGET)) {
    throw new Error(`${WIDGET} is missing: build first (pnpm --filter @postern/widget-sdk build)`);
  }
  return { core, widget: sizeOf(readFileSync(WIDGET, 'utf8')) };
}

/** What each compared library is measured with: its client entry point. */
const COMPARED = [
  ['reconnecting-websocket 4 (its `dist`)', "export { default } from 'reconnecting-websocket';"],
  ['phoenix 1.8 (`Socket`)', "export { Socket } from 'phoenix';"],
  ['socket.io-client 4 (`io`)', "export { io } from 'socket.io-client';"],
  ['centrifuge 5 (`Centrifuge`)', "export { Centrifuge } from 'centrifuge';"],
];

async function main() {
  const postern = await measurePostern();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(postern)}\n`);
    return;
  }
  const rows = [
    ['Postern headless core (`PosternClient`)', postern.core],
    ['Postern `widget.js` (core + UI + embed)', postern.widget],
  ];
  for (const [name, source] of COMPARED) rows.push([name, sizeOf(await bundle(source))]);
  const show = (bytes) => `${bytes.toLocaleString('en')} B (${(bytes / 1024).toFixed(1)} KiB)`;
  console.log('| bundle | minified | gzip -9 |');
  console.log('| --- | ---: | ---: |');
  for (const [name, size] of rows)
    console.log(`| ${name} | ${show(size.min)} | ${show(size.gzip)} |`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
