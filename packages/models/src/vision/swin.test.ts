import { describe, expect, it } from 'vitest';
import { compile } from '@tessera/compiler';
import { trace } from '@tessera/graph-dsl';
import { buildModel, type Config } from '../index.ts';
import { loadFixture, maxAbsDiff } from '../testing.ts';
import { relativePositionIndex, shiftedWindowMask, windowLayout } from './swin.ts';
import { compileCatalogModel, exportCompiled, onnxChecker, runOnnxRuntime, runTfjs } from './testing.ts';

const configOf = (c: Record<string, unknown>): Config => {
  const { stochastic_depth_prob: _, ...rest } = c;
  return { ...(rest as Config), batch: 'B' };
};

describe('Swin (torchvision SwinTransformer)', () => {
  for (const name of ['swin_small', 'swin_window_covers', 'swin_non_square']) {
    it(`${name}: loads the torchvision state_dict as is (buffers included) and matches its logits on tfjs and ONNX Runtime`, async () => {
      const f = loadFixture(name);
      expect([...f.params.keys()].filter((k) => k.endsWith('relative_position_index')).length).toBe(4);
      const compiled = compileCatalogModel('swin_t', configOf(f.config), f.params);
      const expected = f.outputs.get('logits')!;
      const image = f.inputs.get('image')!;
      const tfjs = await runTfjs(compiled, { image });
      const onnx = exportCompiled(compiled);
      const ortOut = await runOnnxRuntime(onnx, { image });
      const [d1, d2] = [maxAbsDiff(tfjs.logits!, expected), maxAbsDiff(ortOut.logits!, expected)];
      console.log(`${name}: max |logits - torchvision| tfjs ${d1.toExponential(2)}, onnxruntime ${d2.toExponential(2)}`);
      expect(d1).toBeLessThanOrEqual(1e-4);
      expect(d2).toBeLessThanOrEqual(1e-4);
      const checker = onnxChecker(onnx);
      if (checker?.startsWith('skipped')) console.warn(checker);
      else expect(checker).toBeUndefined();
    });
  }

  it('pads the map up to the window and drops the shift along a dim the window covers', () => {
    expect(windowLayout([14, 14], [4, 4], [2, 2])).toEqual({ padH: 16, padW: 16, window: [4, 4], shift: [2, 2] });
    expect(windowLayout([4, 6], [4, 4], [2, 2])).toEqual({ padH: 4, padW: 8, window: [4, 4], shift: [0, 2] });
  });

  it('the relative position index is the one torchvision saves', () => {
    const f = loadFixture('swin_small');
    const saved = f.params.get('features.1.0.attn.relative_position_index')!;
    expect(Array.from(relativePositionIndex([4, 4]).data)).toEqual(Array.from(saved.data));
    const idx = relativePositionIndex([7, 7]);
    expect(idx.shape).toEqual([49 * 49]);
    expect(Math.max(...idx.data)).toBe(13 * 13 - 1);
  });

  it('the shifted-window mask separates the regions of the rolled map (-100 across, 0 within)', () => {
    const mask = shiftedWindowMask(8, 8, [4, 4], [2, 2]); // 4 windows of 16 tokens
    expect(mask.shape).toEqual([4, 16, 16]);
    // window 0 is one region: no masking
    expect(mask.data.slice(0, 256).every((v) => v === 0)).toBe(true);
    // window 3 (bottom right) holds 4 regions of 2x2 tokens: token 0 and token 2 differ by region
    const w3 = (i: number, j: number) => mask.data[(3 * 16 + i) * 16 + j];
    expect(w3(0, 1)).toBe(0);
    expect(w3(0, 2)).toBe(-100);
    expect(w3(0, 8)).toBe(-100);
    expect(w3(10, 15)).toBe(0);
  });

  it('folds the shape-only tensors to constants: no Range or Roll of a region map survives, the index is a constant gather', () => {
    const { built } = buildModel('swin_t', ['embed_dim=16', 'depths=2,2', 'num_heads=2,4', 'window_size=4,4', 'image_size=56', 'num_classes=10']);
    const traced = trace(built.module, built.inputs, built.outputs);
    const { graph } = compile(traced, { fuse: false });
    const gathers = graph.nodes.filter((n) => n.op === 'Gather');
    expect(gathers.length).toBe(4);
    const consts = new Set(graph.nodes.filter((n) => n.op === 'Constant').flatMap((n) => n.outputs));
    for (const g of gathers) expect(consts.has(g.inputs[1]!)).toBe(true);
    // 2 shifted blocks: each rolls forward and back on its activations only
    expect(graph.nodes.filter((n) => n.op === 'Roll').length).toBe(4);
    // fused, each roll is inside a window op: 4 blocks partition and reverse, 2 of them shifted
    const fused = compile(traced).graph.nodes;
    expect(fused.filter((n) => n.op === 'Roll')).toHaveLength(0);
    for (const op of ['WindowPartition', 'WindowReverse'] as const) {
      const nodes = fused.filter((n) => n.op === op);
      expect(nodes).toHaveLength(4);
      expect(nodes.filter((n) => (n.attrs as { shift: readonly number[] }).shift.some((s) => s !== 0))).toHaveLength(2);
    }
  });

  it('takes any image size torchvision pads, and refuses weights of another config naming the first mismatches', () => {
    const { built } = buildModel('swin_t', { embed_dim: 16, depths: [2, 2], num_heads: [2, 4], window_size: [4, 4], image_size: [37, 45], num_classes: 10 });
    const graph = trace(built.module, built.inputs, built.outputs);
    expect(graph.types.get(graph.outputs[0]!.value)!.shape.map(String)).toEqual(['B', '10']);
    // refused before the model is built
    expect(() => buildModel('swin_t', ['image_size=2', 'depths=2', 'num_heads=3'])).toThrow(/smaller than one 4x4 patch/);
    expect(() => buildModel('swin_t', ['image_size=64,32', 'window_size=16,9'])).toThrow(/window_size 16x9 is larger than the first stage's 16x8 feature map/);
    // a window equal to the first map is torchvision's too (one window, no shift, as stage 2 of the swin_window_covers fixture)
    expect(() => buildModel('swin_t', ['image_size=64,32', 'window_size=16,8', 'depths=2', 'num_heads=3'])).not.toThrow();
    const f = loadFixture('swin_small');
    expect(() => compileCatalogModel('swin_t', configOf({ ...f.config, window_size: [2, 2] }), f.params)).toThrow(/relative_position_index/);
  });

  it('the bias gather reads the table through the index (one head, window 2)', () => {
    expect(Array.from(relativePositionIndex([2, 2]).data)).toEqual([4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]);
  });
});
