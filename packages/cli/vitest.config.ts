import { defineConfig } from 'vitest/config';

// The CLI's tests spawn the real command, pack and install tarballs and train small models: on
// CI's 2 shared cores a step that takes 3 s alone can take 10 s, so the timeouts are generous
// (they catch hangs, not slowness; no test asserts a duration).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
