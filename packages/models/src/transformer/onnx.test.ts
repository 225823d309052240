import { describe, expect, it } from 'vitest';
import { compile, exportOnnx } from '@tessera/compiler';
import { checkOnnxModel, runOnnxRuntime } from '@tessera/compiler/node';
import { type Graph, type HostTensor, hostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { maxAbsDiff } from '../testing.ts';
import { type BuiltModel } from '../entry.ts';
import { TRANSFORMER_DEFAULTS, transformerGraphs } from './catalog.ts';

const compiled = (b: BuiltModel) => compile(trace(b.module, b.inputs, b.outputs), {}).graph;
const pick = (w: Map<string, HostTensor>, g: Graph) => new Map(g.params.map((p) => [p.name, w.get(p.name)!]));

describe('ONNX: the encoder and the one-step decoder with its cache, exported separately', () => {
  it('pass onnx.checker, keep the cache as graph inputs/outputs, and give the tfjs numbers on ONNX Runtime', async () => {
    const config = { ...TRANSFORMER_DEFAULTS, src_vocab: 12, tgt_vocab: 14, d_model: 16, nhead: 2, dim_feedforward: 32 };
    const g = transformerGraphs(config);
    const [enc, step] = [compiled(g.encoder), compiled(g.decoderStep)];
    const all = initialWeights(compiled(g.train), 5);
    const [encW, stepW] = [pick(all, enc), pick(all, step)];
    const encOnnx = exportOnnx(enc, { weights: encW });
    const stepOnnx = exportOnnx(step, { weights: stepW });
    for (const bytes of [encOnnx, stepOnnx]) {
      const check = checkOnnxModel(bytes);
      if (check.ok !== undefined) expect(check).toEqual({ ok: true });
    }
    const src = hostTensor('int32', [2, 4], [3, 4, 5, 1, 6, 7, 1, 1]);
    const lens = hostTensor('int32', [2], [4, 2]);
    const sEnc = await Session.create(enc, { weights: encW });
    const sStep = await Session.create(step, { weights: stepW });
    try {
      const tfEnc = await sEnc.run({ src, src_valid_lens: lens });
      const ortEnc = await runOnnxRuntime(encOnnx, { src, src_valid_lens: lens });
      expect(maxAbsDiff(tfEnc.enc_outputs!, ortEnc.enc_outputs!)).toBeLessThanOrEqual(1e-4);
      let tfCache: Record<string, HostTensor> = Object.fromEntries(['cache_k_0', 'cache_v_0', 'cache_k_1', 'cache_v_1'].map((n) => [n, hostTensor('float32', [2, 0, 16])]));
      let ortCache = tfCache;
      for (let t = 0; t < 4; t++) {
        const common = { token: hostTensor('int32', [2, 1], [t + 2, t + 5]), position: hostTensor('int32', [1], [t]), enc_outputs: tfEnc.enc_outputs!, src_valid_lens: lens };
        const a = await sStep.run({ ...common, ...tfCache });
        const b = await runOnnxRuntime(stepOnnx, { ...common, ...ortCache });
        expect(maxAbsDiff(a.logits!, b.logits!)).toBeLessThanOrEqual(1e-4);
        expect(b.new_cache_v_1!.shape).toEqual([2, t + 1, 16]);
        const next = (o: Record<string, HostTensor>) => ({ cache_k_0: o.new_cache_k_0!, cache_v_0: o.new_cache_v_0!, cache_k_1: o.new_cache_k_1!, cache_v_1: o.new_cache_v_1! });
        [tfCache, ortCache] = [next(a), next(b)];
      }
    } finally {
      sEnc.dispose();
      sStep.dispose();
    }
  });
});
