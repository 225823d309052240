/**
 * Catalog models' own source lines on the graph's boxes. In the built page a catalog model's code
 * is in the pipeline's chunk, so graph-dsl records the chunk's line and column (minified: all on one
 * line); the build writes each chunk's source map beside it (vite.config.ts: `sourcemap: 'hidden'`,
 * cut by keepSources to the catalog's files, named from the repository's root), which maps that
 * position back to the file and its line before compiling: the boxes, `--explain`'s near-matches and
 * errors then name `packages/models/src/...ts:LINE`, as the CLI run from the repository's root does.
 */
import { decode, encode } from '@jridgewell/sourcemap-codec';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import type { Graph, SourceRef } from '@tessera/graph-dsl';

/** A source at its original file, line and column through the map of the file it was recorded in; as it was where the map has nothing. */
export function originalSource(source: SourceRef, map: TraceMap): SourceRef {
  // V8 counts columns from 1, a source map from 0
  const at = originalPositionFor(map, { line: source.line, column: source.column - 1 });
  return at.source === null ? source : { ...source, file: at.source, line: at.line, column: at.column + 1 };
}

/** The graph with each node's source mapped by the map of its file (a node without a source, or from a file without a map, as it was). */
export function mapSources(graph: Graph, maps: ReadonlyMap<string, TraceMap>): Graph {
  return {
    ...graph,
    nodes: graph.nodes.map((n) => {
      const map = n.source && maps.get(n.source.file);
      return map ? { ...n, source: originalSource(n.source!, map) } : n;
    }),
  };
}

/**
 * The graph-mapping function of a built chunk: its nodes recorded in the chunk at their original
 * files and lines, through the source map beside it (`chunk.js.map`). Identity for a chunk without
 * a map and where the code is not a built chunk (the dev server, Node): there the sources are the
 * files themselves; an editor's model is model.ts, not a chunk.
 */
export async function chunkLines(chunk: string): Promise<(graph: Graph) => Graph> {
  if (!/^https?:\/\/.*\.js$/.test(chunk)) return (graph) => graph;
  // without its map the boxes show the module path alone, as they did before the build wrote maps
  const map = await fetch(`${chunk}.map`)
    .then(async (r) => (r.ok ? new TraceMap(await r.text()) : undefined))
    .catch(() => undefined);
  return map ? (graph) => mapSources(graph, new Map([[chunk, map]])) : (graph) => graph;
}

/** The parts of a source map that a TraceMap reads. */
export interface SourceMapJson {
  readonly version: 3;
  readonly sources: readonly (string | null)[];
  readonly names: readonly string[];
  readonly mappings: string;
}

type Segment = [number] | [number, number, number, number];

/**
 * A source map cut to the positions that map into the sources `keep` accepts, with neither names
 * nor the sources' text: what the page needs for the catalog's lines, at a tenth of the whole map.
 * A run of code from other sources becomes one segment without a source, so that a position in it
 * maps to nothing rather than to the kept line before it.
 */
export function keepSources(map: SourceMapJson, keep: (source: string) => boolean): SourceMapJson {
  const kept = map.sources.flatMap((s, i) => (s !== null && keep(s) ? [i] : []));
  const index = new Map(kept.map((old, i) => [old, i]));
  const lines = decode(map.mappings).map((segments) => {
    const out: Segment[] = [];
    for (const s of segments) {
      const source = s.length >= 4 ? index.get(s[1]!) : undefined;
      if (source !== undefined) out.push([s[0], source, s[2]!, s[3]!]);
      else if (out.at(-1)?.length !== 1) out.push([s[0]]);
    }
    return out;
  });
  return { version: 3, sources: kept.map((i) => map.sources[i]!), names: [], mappings: encode(lines) };
}
