import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { keepSources } from './src/source-lines.ts';

const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Each chunk's source map cut to the catalog models' files, each named from the repository's root:
 * what source-lines.ts reads for their lines (the pipeline's 1.3 MB map becomes 57 kB).
 */
const catalogLinesOnly: Plugin = {
  name: 'tessera-catalog-lines',
  apply: 'build',
  generateBundle(options, bundle) {
    for (const file of Object.values(bundle)) {
      if (file.type !== 'asset' || !file.fileName.endsWith('.js.map')) continue;
      const cut = keepSources(JSON.parse(String(file.source)), (s) => /\/models\/src\//.test(s));
      const fromRoot = (s: string | null) => s && path.relative(REPOSITORY, path.resolve(options.dir!, path.dirname(file.fileName), s));
      file.source = JSON.stringify({ ...cut, sources: cut.sources.map(fromRoot) });
    }
  },
};

export default defineConfig({
  // relative asset URLs: dist/ works from any folder or static host
  base: './',
  // the summary names layers by their class (constructor.name), as tessera summary does: minifying keeps them
  esbuild: { keepNames: true },
  build: {
    outDir: 'dist',
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    // each chunk's map beside it, not named in the chunk, cut to the catalog's files (catalogLinesOnly)
    sourcemap: 'hidden',
    rollupOptions: {
      output: {
        sourcemapExcludeSources: true,
        // graph-dsl in a chunk of its own: it finds the user's line in a stack as the first frame outside its own file (graph-dsl's source.ts)
        manualChunks: (id) => (/\/packages\/graph-dsl\/src\//.test(id) ? 'graph-dsl' : undefined),
      },
    },
  },
  plugins: [catalogLinesOnly],
  server: { host: '127.0.0.1' },
});
