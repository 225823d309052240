import { describe, expect, it } from 'vitest';
import { compile } from '@tessera/compiler';
import { trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { boxCount, layoutGraph } from './graph-layout.ts';

const { built } = buildModel('torch_multihead_attention', ['embed_dim=16', 'num_heads=4']);
const traced = trace(built.module, built.inputs, built.outputs);
const { graph } = compile(traced);

describe('layoutGraph', () => {
  const layout = layoutGraph(graph);
  it('draws a box for every input, node and output, with its op, output type and source line', () => {
    expect(layout.boxes).toHaveLength(boxCount(graph));
    const attention = layout.boxes.find((b) => b.lines[0] === 'Attention')!;
    expect(attention.lines[1]).toMatch(/^f32\[/);
    expect(attention.lines[2]).toMatch(/\.ts:\d+$/);
    expect(layout.boxes.find((b) => b.id === 'in:query')!.lines).toEqual(['query', 'f32[L, B, 16]']);
  });
  it('places boxes without overlaps, inputs above what reads them, inside the picture', () => {
    const { boxes } = layout;
    for (const [i, a] of boxes.entries()) {
      expect(a.x - a.width / 2).toBeGreaterThanOrEqual(0);
      expect(a.y + a.height / 2).toBeLessThanOrEqual(layout.height);
      for (const b of boxes.slice(i + 1)) expect(Math.abs(a.x - b.x) >= (a.width + b.width) / 2 || Math.abs(a.y - b.y) >= (a.height + b.height) / 2, `${a.id} / ${b.id}`).toBe(true);
    }
    const top = Math.min(...boxes.map((b) => b.y));
    expect(boxes.filter((b) => b.kind === 'input').every((b) => b.y === top)).toBe(true);
    expect(boxes.filter((b) => b.kind === 'output').every((b) => b.y > top)).toBe(true);
  });
  it("draws an edge for each value read from another node or an input, and more before the passes", () => {
    const reads = graph.nodes.flatMap((n) => n.inputs).filter((v) => v !== null && !graph.params.some((p) => p.value === v));
    expect(layout.edges.length).toBeGreaterThan(0);
    expect(layout.edges.length).toBeLessThanOrEqual(reads.length + graph.outputs.length);
    expect(layoutGraph(traced).boxes.length).toBeGreaterThan(layout.boxes.length);
  });
});
