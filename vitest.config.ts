import { defineConfig } from 'vitest/config';

// Unit and integration tests of every package; e2e runs apart, under Playwright.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
  },
});
