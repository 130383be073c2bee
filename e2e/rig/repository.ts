/**
 * Where the built artefacts the suite loads live: the server's `dist/main.js`, the SDK's
 * `widget.js` and ES module, the protocol's modules and the console build. One root, so every
 * rig module reads the same build.
 */
export const REPOSITORY = new URL('../../', import.meta.url);

/** A file or folder of the repository, by its path from the root. */
export function inRepository(path: string): URL {
  return new URL(path, REPOSITORY);
}
