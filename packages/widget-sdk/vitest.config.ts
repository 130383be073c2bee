import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'widget-sdk', include: ['test/**/*.test.ts'], environment: 'node' },
});
