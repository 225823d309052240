import { describe, expect, it } from 'vitest';
import { compile } from '@tessera/compiler';
import { type HostTensor, hostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { maxAbsDiff } from '../testing.ts';
import { buildModel } from '../catalog.ts';
import { transformerGraphs } from './catalog.ts';
import { TRANSFORMER_DEFAULTS } from './catalog.ts';

const pick = (w: Map<string, HostTensor>, names: readonly string[]) => new Map(names.map((n) => [n, w.get(n)!]));

describe('the decoder step with an explicit key/value cache', () => {
  it('gives the same logits, step by step, as the teacher-forced full forward', async () => {
    const config = { ...TRANSFORMER_DEFAULTS, src_vocab: 9, tgt_vocab: 10, d_model: 16, nhead: 2, dim_feedforward: 32, dropout: 0 };
    const { built } = buildModel('transformer', config);
    const full = compile(trace(built.module, built.inputs, built.outputs), {}).graph;
    const weights = initialWeights(full, 3);
    const g = transformerGraphs(config);
    const enc = compile(trace(g.encoder.module, g.encoder.inputs, g.encoder.outputs), {}).graph;
    const step = compile(trace(g.decoderStep.module, g.decoderStep.inputs, g.decoderStep.outputs), {}).graph;
    const [B, S, T, d] = [2, 5, 6, 16];
    const src = hostTensor('int32', [B, S], [1, 2, 3, 4, 5, 6, 7, 8, 1, 1]);
    const lens = hostTensor('int32', [B], [5, 3]);
    const tgt = hostTensor('int32', [B, T], [0, 3, 4, 5, 6, 7, 0, 9, 8, 7, 6, 5]);
    const sFull = await Session.create(full, { weights });
    const sEnc = await Session.create(enc, { weights: pick(weights, enc.params.map((p) => p.name)) });
    const sStep = await Session.create(step, { weights: pick(weights, step.params.map((p) => p.name)) });
    try {
      const expected = (await sFull.run({ src, src_valid_lens: lens, tgt })).logits!;
      const { enc_outputs } = await sEnc.run({ src, src_valid_lens: lens });
      const V = 10;
      let cache: Record<string, HostTensor> = Object.fromEntries(['cache_k_0', 'cache_v_0', 'cache_k_1', 'cache_v_1'].map((n) => [n, hostTensor('float32', [B, 0, d])]));
      for (let t = 0; t < T; t++) {
        const token = hostTensor('int32', [B, 1], [tgt.data[t]!, tgt.data[T + t]!]);
        const out = await sStep.run({ token, position: hostTensor('int32', [1], [t]), enc_outputs: enc_outputs!, src_valid_lens: lens, ...cache });
        const want = hostTensor('float32', [B, 1, V], [...expected.data.slice(t * V, (t + 1) * V), ...expected.data.slice((T + t) * V, (T + t + 1) * V)]);
        expect(maxAbsDiff(out.logits!, want)).toBeLessThanOrEqual(1e-4);
        expect(out.new_cache_k_1!.shape).toEqual([B, t + 1, d]);
        cache = { cache_k_0: out.new_cache_k_0!, cache_v_0: out.new_cache_v_0!, cache_k_1: out.new_cache_k_1!, cache_v_1: out.new_cache_v_1! };
      }
    } finally {
      [sFull, sEnc, sStep].forEach((s) => s.dispose());
    }
  });
});
