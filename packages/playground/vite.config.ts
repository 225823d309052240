import { defineConfig } from 'vite';

export default defineConfig({
  // relative asset URLs: dist/ works from any folder or static host
  base: './',
  // the summary names layers by their class (constructor.name), as tessera summary does: minifying keeps them
  esbuild: { keepNames: true },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { host: '127.0.0.1' },
});
