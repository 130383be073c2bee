import { defineProject } from 'vitest/config';
import { bundledSources } from './vite.config.js';

export default defineProject({
  // The same module resolution as the builds, so tests run the code that ships.
  resolve: { alias: bundledSources },
  test: { name: 'widget-sdk', include: ['test/**/*.test.ts'], environment: 'node' },
});
