import { defineProject } from 'vitest/config';
import { bundledSources, trimReconnectingWebSocket } from './vite.config.js';

export default defineProject({
  // The same module resolution as the builds, so tests run the code that ships.
  resolve: { alias: bundledSources },
  plugins: [trimReconnectingWebSocket()],
  test: { name: 'widget-sdk', include: ['test/**/*.test.ts'], environment: 'node' },
});
