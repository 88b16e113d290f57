import { defineConfig } from 'vitest/config';

// Unit tests of the pure TypeScript logic (graph ⇄ React Flow, schema forms,
// formatting, stores, cell lookup). Browser behaviour is tested by pytest +
// Playwright in tests/browser/.
export default defineConfig({
  test: {
    include: ['js/**/*.test.ts', 'js/**/*.test.tsx'],
    environment: 'node'
  }
});
