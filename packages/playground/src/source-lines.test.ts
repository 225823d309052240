import { encode } from '@jridgewell/sourcemap-codec';
import { TraceMap } from '@jridgewell/trace-mapping';
import type { Graph, Node } from '@tessera/graph-dsl';
import { transformWithEsbuild } from 'vite';
import { describe, expect, it } from 'vitest';
import { chunkLines, keepSources, mapSources, originalSource, type SourceMapJson } from './source-lines.ts';

const SOURCE = ['export function block(x: number) {', '  const y = project(x);', '  return norm(y);', '}', 'declare function project(x: number): number;', 'declare function norm(x: number): number;', ''].join('\n');
const CHUNK = 'http://127.0.0.1:4173/assets/pipeline-x1.js';

/** The source minified as the build does, with its map: one line of code. */
async function minified(): Promise<{ code: string; map: TraceMap; json: SourceMapJson }> {
  const out = await transformWithEsbuild(SOURCE, '/work/main/packages/models/src/block.ts', { minify: true, sourcemap: true, format: 'esm' });
  const json = out.map as unknown as SourceMapJson;
  return { code: out.code, map: new TraceMap(json as unknown as string), json };
}

/** Where V8 puts a call in a stack frame: the chunk's line and the 1-based column of the callee. */
const frameAt = (code: string, callee: string) => ({ file: CHUNK, line: 1, column: code.indexOf(`${callee}(`) + 1, scope: 'blocks.0' });

describe('originalSource', () => {
  it("maps a minified chunk's line and column to the source file's line, the scope kept", async () => {
    const { code, map } = await minified();
    expect(code.trim().split('\n')).toHaveLength(1);
    const at = originalSource(frameAt(code, 'norm'), map);
    expect(at).toMatchObject({ line: 3, scope: 'blocks.0' });
    expect(at.file).toMatch(/(^|\/)block\.ts$/);
    expect(originalSource(frameAt(code, 'project'), map).line).toBe(2);
  });
});

describe('mapSources', () => {
  it("maps the nodes recorded in a mapped file and leaves the editor's and unmapped ones", async () => {
    const { code, map } = await minified();
    const node = (source: Node['source']) => ({ op: 'Relu', inputs: [0], outputs: [1], attrs: {}, source }) as unknown as Node;
    const graph = { types: new Map(), inputs: [], params: [], outputs: [], nodes: [node(frameAt(code, 'norm')), node({ file: 'model.ts', line: 7, column: 3, scope: '' }), node(undefined)] } as Graph;
    const mapped = mapSources(graph, new Map([[CHUNK, map]]));
    expect(mapped.nodes.map((n) => n.source?.line)).toEqual([3, 7, undefined]);
    expect(mapped.nodes[1]).toBe(graph.nodes[1]);
    expect(graph.nodes[0]!.source!.file).toBe(CHUNK);
    // outside a built chunk (Node, the dev server) the sources are the files themselves
    expect((await chunkLines(import.meta.url))(graph)).toBe(graph);
  });
});

describe('keepSources', () => {
  it("keeps the kept sources' positions as the whole map gives them; another source's map to nothing, not to the kept line before", async () => {
    const { code, json } = await minified();
    const cut = keepSources(json, (s) => s.endsWith('block.ts'));
    expect(cut.sources).toEqual(json.sources);
    expect(cut.names).toEqual([]);
    const map = new TraceMap(cut as unknown as string);
    expect(originalSource(frameAt(code, 'norm'), map).line).toBe(3);
    expect(originalSource(frameAt(code, 'project'), map).line).toBe(2);
    // one generated line: columns 0-9 from a.ts line 1, 10-19 from tfjs.js, 20- from a.ts line 3
    const two: SourceMapJson = { version: 3, sources: ['a.ts', 'tfjs.js'], names: [], mappings: encode([[[0, 0, 0, 0], [10, 1, 5, 0], [20, 0, 2, 0]]]) };
    const a = new TraceMap(keepSources(two, (s) => s === 'a.ts') as unknown as string);
    const at = (column: number) => originalSource({ file: CHUNK, line: 1, column: column + 1, scope: '' }, a);
    expect([at(3), at(12), at(25)].map((s) => `${s.file}:${s.line}`)).toEqual(['a.ts:1', `${CHUNK}:1`, 'a.ts:3']);
  });
});
