import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'demo',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The demo-server test starts the built Postern server as a process.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
