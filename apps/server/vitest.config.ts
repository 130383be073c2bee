import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'server',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Integration and black-box tests run real servers and processes side by side on a 2-core
    // CI machine; deadlines inside the tests carry their own margins, these only catch hangs.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
