/**
 * Static files served from memory: the built console (`dist/console`) and the shop stylesheet.
 * The file list is read once at start-up, so a request path is only ever a key in a map — no
 * path is ever joined with request input, and nothing outside the folder can be reached.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

export interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  /** Content-hashed by the bundler, so it can be cached for good. */
  readonly immutable: boolean;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  // Source maps only load when developer tools are open.
  '.map': 'application/json',
};

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/**
 * Every file of a known type under `root`, by URL path (`/index.html`, `/assets/…`).
 * Throws when `root` does not exist (not built).
 */
export function loadStaticFolder(root: string): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const path of walk(root)) {
    const type = TYPES[extname(path)];
    if (type === undefined) continue;
    const urlPath = `/${relative(root, path).split(sep).join('/')}`;
    files.set(urlPath, {
      body: readFileSync(path),
      type,
      immutable: urlPath.startsWith('/assets/'),
    });
  }
  return files;
}

/** One file, served at `urlPath`. */
export function loadStaticFile(path: string, urlPath: string): ReadonlyMap<string, StaticFile> {
  const type = TYPES[extname(path)] ?? 'application/octet-stream';
  return new Map([[urlPath, { body: readFileSync(path), type, immutable: false }]]);
}
