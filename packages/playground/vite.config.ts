import { defineConfig } from 'vite';

export default defineConfig({
  // relative asset URLs: dist/ works from any folder or static host
  base: './',
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { host: '127.0.0.1' },
});
