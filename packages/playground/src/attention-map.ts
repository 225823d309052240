/**
 * The attention map of a ViT or Swin block over the image. The compiled graph fuses attention,
 * so each block's softmax is kept as an extra output before compiling (compiler's
 * exposeIntermediates: the Attention node then returns its probabilities too, as the
 * Transformer's returned weights do) and the one run that gives the top-5 gives the maps.
 */
import { exposeIntermediates } from '@tessera/compiler';
import type { Graph, HostTensor, Module } from '@tessera/graph-dsl';
import { ShiftedWindowAttention, SwinTransformer, VisionTransformer, type WindowLayout, windowLayout } from '@tessera/models';

/** One head, or the mean over the heads. */
export type Head = number | 'mean';

/** ViT: the class token's attention to the patches; Swin: what each patch receives within its window. */
export type BlockGeometry =
  | { readonly kind: 'class-token'; readonly grid: readonly [number, number] }
  | { readonly kind: 'windows'; readonly map: readonly [number, number]; readonly layout: WindowLayout };

export interface AttentionBlock {
  /** The block's module path, torchvision's: `encoder.layers.encoder_layer_0`, `features.1.0`. */
  readonly path: string;
  /** The module whose softmax it is (`...self_attention`, `...attn`). */
  readonly scope: string;
  /** The graph output its softmax comes out as. */
  readonly output: string;
  readonly heads: number;
  readonly geometry: BlockGeometry;
}

/** A map on the patch grid, row-major. */
export interface AttentionMap {
  readonly rows: number;
  readonly cols: number;
  readonly values: Float32Array;
}

const parent = (path: string) => path.slice(0, path.lastIndexOf('.'));

function softmaxOf(graph: Graph, scope: string) {
  const node = graph.nodes.find((n) => n.op === 'Softmax' && n.source?.scope === scope)!;
  return graph.types.get(node.outputs[0]!)!.shape;
}

/** The attention blocks of a traced ViT or Swin, in order; none for other models. */
export function attentionBlocks(module: Module, graph: Graph): AttentionBlock[] {
  const block = (scope: string, geometry: BlockGeometry): AttentionBlock => ({ path: parent(scope), scope, output: `attention ${parent(scope)}`, heads: softmaxOf(graph, scope)[1] as number, geometry });
  if (module instanceof VisionTransformer) {
    const side = module.imageSize / module.patchSize;
    return module.encoder.layers.namedChildren().map(([name]) => block(`encoder.layers.${name}.self_attention`, { kind: 'class-token', grid: [side, side] }));
  }
  if (!(module instanceof SwinTransformer)) return [];
  return module.namedModules().flatMap(([scope, m]) => {
    if (!(m instanceof ShiftedWindowAttention)) return [];
    // the map the attention reads: its block's norm1 output, (B, H, W, C)
    const norm = graph.nodes.find((n) => n.op === 'LayerNorm' && n.source?.scope === `${parent(scope)}.norm1`)!;
    const [, h, w] = graph.types.get(norm.outputs[0]!)!.shape as [unknown, number, number];
    return [block(scope, { kind: 'windows', map: [h, w], layout: windowLayout([h, w], m.windowSize, m.shiftSize) })];
  });
}

/** The traced graph with each block's attention probabilities as an extra output. */
export function exposeAttention(graph: Graph, blocks: readonly AttentionBlock[]): Graph {
  return exposeIntermediates(graph, Object.fromEntries(blocks.map((b) => [b.output, { scope: b.scope, op: 'Softmax' as const }])));
}

/** Matrix `lead` of probabilities (lead, heads, N, N) for one head or averaged over the heads: N x N. */
export function headMatrix(probs: HostTensor, lead: number, head: Head): Float64Array {
  const [, heads, n] = probs.shape as [number, number, number];
  const out = new Float64Array(n * n);
  const picked = head === 'mean' ? Array.from({ length: heads }, (_, h) => h) : [head];
  for (const h of picked) {
    const base = (lead * heads + h) * n * n;
    for (let i = 0; i < n * n; i++) out[i]! += probs.data[base + i]! / picked.length;
  }
  return out;
}

/** ViT: row 0 (the class token) over the patches, on the patch grid. */
export function classTokenMap(probs: HostTensor, head: Head, [rows, cols]: readonly [number, number]): AttentionMap {
  const n = rows * cols + 1;
  return { rows, cols, values: Float32Array.from(headMatrix(probs, 0, head).subarray(1, n)) };
}

/**
 * Attention rollout over the given blocks, first to last (Abnar & Zuidema 2020): each block's
 * heads averaged, the identity added for the residual, rows renormalized, the blocks multiplied;
 * the class token's row over the patches.
 */
export function rolloutMap(blocks: readonly HostTensor[], [rows, cols]: readonly [number, number]): AttentionMap {
  const n = rows * cols + 1;
  let rollout = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  for (const probs of blocks) {
    const a = headMatrix(probs, 0, 'mean');
    for (let i = 0; i < n; i++) {
      a[i * n + i]! += 1;
      let sum = 0;
      for (let j = 0; j < n; j++) sum += a[i * n + j]!;
      for (let j = 0; j < n; j++) a[i * n + j]! /= sum;
    }
    const next = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) next[i * n + j]! += a[i * n + k]! * rollout[k * n + j]!;
    rollout = next;
  }
  return { rows, cols, values: Float32Array.from(rollout.subarray(1, n)) };
}

/**
 * Swin: for each patch of the block's H x W map, the mean over its window's queries of the
 * attention it receives. Windows tile the padded map rolled by -shift (torchvision's order), so a
 * patch (y, x) sits at ((y - shift) mod padH, (x - shift) mod padW) of the windows.
 */
export function receivedMap(probs: HostTensor, [rows, cols]: readonly [number, number], { padW, window: [m0, m1], shift, padH }: WindowLayout, head: Head): AttentionMap {
  const n = m0 * m1;
  const windowsPerRow = padW / m1;
  const received = Array.from({ length: probs.shape[0] as number }, (_, w) => {
    const a = headMatrix(probs, w, head);
    return Array.from({ length: n }, (_, j) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += a[i * n + j]!;
      return sum / n;
    });
  });
  const values = new Float32Array(rows * cols);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const [ry, rx] = [(y - shift[0] + padH) % padH, (x - shift[1] + padW) % padW];
      values[y * cols + x] = received[Math.floor(ry / m0) * windowsPerRow + Math.floor(rx / m1)]![(ry % m0) * m1 + (rx % m1)]!;
    }
  }
  return { rows, cols, values };
}

/** What the page draws for a block: its own attention for a head or the mean, or (ViT) the rollout over blocks 0..this one. */
export function blockMap(blocks: readonly AttentionBlock[], probs: Readonly<Record<string, HostTensor>>, path: string, head: Head, rollout = false): AttentionMap {
  const index = blocks.findIndex((b) => b.path === path);
  const block = blocks[index]!;
  const g = block.geometry;
  if (g.kind === 'windows') return receivedMap(probs[block.output]!, g.map, g.layout, head);
  return rollout ? rolloutMap(blocks.slice(0, index + 1).map((b) => probs[b.output]!), g.grid) : classTokenMap(probs[block.output]!, head, g.grid);
}
