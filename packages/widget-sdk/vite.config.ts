import { defineConfig } from 'vite';

// Two builds from one config: the ES module for bundlers and Node (`vite build`), and the
// self-contained script-tag build `widget.js` (`vite build --mode embed`), an IIFE with no imports.
export default defineConfig(({ mode }) => {
  const embed = mode === 'embed';
  return {
    build: {
      target: 'es2022',
      outDir: 'dist',
      emptyOutDir: !embed,
      sourcemap: true,
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
