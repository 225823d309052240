import { defineConfig } from 'vite';

export default defineConfig({
  // relative asset URLs: dist/ works from any folder or static host
  base: './',
  // the summary names layers by their class (constructor.name), as tessera summary does: minifying keeps them
  esbuild: { keepNames: true },
  build: {
    outDir: 'dist',
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    // each chunk's map beside it, without the sources' text and not named in the chunk: read by source-lines.ts for catalog models' lines on the graph's boxes
    sourcemap: 'hidden',
    rollupOptions: {
      output: {
        sourcemapExcludeSources: true,
        // graph-dsl in a chunk of its own: it finds the user's line in a stack as the first frame outside its own file (graph-dsl's source.ts)
        manualChunks: (id) => (/\/packages\/graph-dsl\/src\//.test(id) ? 'graph-dsl' : undefined),
      },
    },
  },
  server: { host: '127.0.0.1' },
});
