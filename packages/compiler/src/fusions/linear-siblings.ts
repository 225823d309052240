/**
 * Linears that read one input through consecutive row blocks of one weight (and of one bias) are
 * one Linear, its output sliced: torch's in-projection of self-attention, `in_proj_weight` split
 * into W_q, W_k, W_v and all three applied to x, is one matmul of x by the whole (3E, E) weight,
 * as torch itself computes it (and cross-attention's K and V of the memory, one by rows E:3E). One product instead of three: fewer kernel launches for small
 * sizes, and Q, K, V as slices of one packed tensor, the layout fused attention kernels read.
 */
import { type AttrsOf, type Graph, type Node } from '@tessera/graph-dsl';
import { GraphEditor, producers } from '../edit.ts';
import type { Pass, PassContext } from '../pass.ts';

interface Block {
  readonly node: Node;
  /** The sliced tensor, and the rows taken. */
  readonly weight: number;
  readonly bias: number | null;
  readonly start: number;
  readonly end: number;
}

/** A Linear whose weight (and bias) are row slices; undefined otherwise. */
function blockOf(node: Node, producer: ReadonlyMap<number, Node>): Block | undefined {
  const rows = (value: number | null) => {
    const p = value === null ? undefined : producer.get(value);
    if (p?.op !== 'Slice') return undefined;
    const a = p.attrs as AttrsOf<'Slice'>;
    return a.axis === 0 && a.step === 1 && a.start >= 0 && a.end !== undefined && a.end > a.start ? { source: p.inputs[0]!, start: a.start, end: a.end } : undefined;
  };
  const w = rows(node.inputs[1]!);
  if (!w) return undefined;
  const biasInput = node.inputs[2] ?? null;
  const b = biasInput === null ? undefined : rows(biasInput);
  if (biasInput !== null && (!b || b.start !== w.start || b.end !== w.end)) return undefined;
  return { node, weight: w.source, bias: b?.source ?? null, start: w.start, end: w.end };
}

/** Blocks that together take one run of rows of their weight, each row once, in some order. */
function contiguous(blocks: readonly Block[]): boolean {
  const sorted = [...blocks].sort((a, b) => a.start - b.start);
  return sorted.every((b, i) => i === 0 || b.start === sorted[i - 1]!.end);
}

export function linearSiblings(): Pass {
  return {
    name: 'fuse-linear-siblings',
    run(graph: Graph, ctx: PassContext): Graph {
      const producer = producers(graph);
      const groups = new Map<string, Block[]>();
      for (const node of graph.nodes) {
        if (node.op !== 'Linear') continue;
        const block = blockOf(node, producer);
        if (!block) continue;
        const key = `${node.inputs[0]}:${block.weight}:${block.bias}`;
        groups.set(key, [...(groups.get(key) ?? []), block]);
      }
      const merged = new Map<Node, readonly Block[]>();
      for (const blocks of groups.values()) {
        if (blocks.length < 2) continue;
        if (!contiguous(blocks)) {
          ctx.note(`linear-siblings: ${blocks.length} Linears read rows of one weight that are not one run (${blocks.map((b) => `${b.start}:${b.end}`).join(', ')})`);
          continue;
        }
        merged.set(blocks[0]!.node, blocks);
      }
      if (merged.size === 0) return graph;
      const editor = new GraphEditor(graph, 'fuse-linear-siblings');
      const done = new Set<Node>();
      for (const node of graph.nodes) {
        if (done.has(node)) continue;
        const blocks = merged.get(node);
        if (!blocks) {
          editor.copy(node);
          continue;
        }
        const { weight, bias } = blocks[0]!;
        const [first, end] = [Math.min(...blocks.map((b) => b.start)), Math.max(...blocks.map((b) => b.end))];
        const rows = (value: number) => (first === 0 && end === graph.types.get(value)!.shape[0] ? editor.value(value) : editor.add('Slice', [editor.value(value)], { axis: 0, start: first, end, step: 1 }, node.source)[0]!);
        const y = editor.add('Linear', [editor.value(node.inputs[0]!), rows(weight), bias === null ? null : rows(bias)], {}, node.source)[0]!;
        const last = editor.type(y).shape.length - 1;
        for (const b of blocks) {
          editor.replace(b.node.outputs[0]!, editor.add('Slice', [y], { axis: last, start: b.start - first, end: b.end - first, step: 1 }, b.node.source)[0]!);
          done.add(b.node);
        }
        ctx.count('linear-siblings');
      }
      return editor.finish();
    },
  };
}
