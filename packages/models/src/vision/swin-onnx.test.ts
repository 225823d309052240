/**
 * Swin-T's ONNX export for ONNX Runtime (`--target onnxruntime`) at torchvision's size: the node
 * count the fusion issue asks for (at most 300; torch.onnx's export has 6,242), block by block.
 */
import { describe, expect, it } from 'vitest';
import { compile, exportOnnxModel } from '@tessera/compiler';
import { initialWeights, trace } from '@tessera/graph-dsl';
import { buildModel } from '../catalog.ts';

/** The block (`features.S.B`) or other module scope an ONNX node was written for. */
const scopeOf = (name: string) => /^(features\.\d+\.\d+)\./.exec(name)?.[1] ?? name.split('/')[0]!;

describe('Swin-T exported for ONNX Runtime', () => {
  it('takes at most 300 nodes, 21 to 23 a block', () => {
    const { built } = buildModel('swin_t');
    const traced = trace(built.module, built.inputs, built.outputs);
    const weights = initialWeights(traced, 0);
    const { graph } = compile(traced, { weights });
    const model = exportOnnxModel(graph, { weights, target: 'onnxruntime' }).graph!;
    const nodes = model.node!;
    expect(nodes.length).toBeLessThanOrEqual(300);
    // the bias tables folded into each block's constant bias are not written (ONNX Runtime warned of each unused one)
    const read = new Set(nodes.flatMap((n) => n.input ?? []));
    expect(model.initializer!.filter((t) => !read.has(t.name!)).map((t) => t.name)).toEqual([]);
    expect(model.initializer!.some((t) => t.name!.endsWith('relative_position_bias_table'))).toBe(false);
    const perBlock = new Map<string, string[]>();
    for (const n of nodes) perBlock.set(scopeOf(n.name!), [...(perBlock.get(scopeOf(n.name!)) ?? []), `${n.domain ? 'ms:' : ''}${n.opType}`]);
    // the stages' blocks (features.0 is the patch embedding)
    const blocks = [...perBlock.keys()].filter((s) => /^features\.[1-9]\d*\.\d+$/.test(s));
    expect(blocks).toHaveLength(12);
    // 21 a block; one more where a stage starts (its map read as (B, H*W, C) once), where one ends in a
    // patch merging (the last residual sum), and in a shifted block (its -100 mask: the weights' floor)
    expect(blocks.map((b) => perBlock.get(b)!.length)).toEqual([22, 23, 22, 23, 22, 22, 21, 22, 21, 23, 22, 21]);
    // a shifted block: the window gathers alone, the heads split at once, the scores one FusedMatMul, the residual sums taking the Linears' biases
    expect(perBlock.get('features.5.1')).toEqual(
      ['Sum', 'LayerNormalization', 'Gather', 'ms:FusedMatMul', 'Add', 'Reshape', 'Transpose', 'Split', 'ms:FusedMatMul', 'Add', 'Softmax', 'Max', 'MatMul', 'Transpose', 'Reshape', 'ms:FusedMatMul', 'Gather', 'Sum', 'LayerNormalization', 'ms:FusedMatMul', 'ms:BiasGelu', 'ms:FusedMatMul'],
    );
  }, 60_000);
});
