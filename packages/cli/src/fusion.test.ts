/**
 * The fusions on every catalog model: each attention in the catalog becomes one Attention node
 * (with its heads packed where they are split the standard way), and the fused graph computes
 * what the unfused one does, on the host reference kernels and on tfjs.
 */
import { describe, expect, it } from 'vitest';
import { compile, fusionCounts, interpret } from '@tessera/compiler';
import { initialWeights, inputSymbols, maxAbsDiff, randomInputs, trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { Session } from '@tessera/runtime-tfjs';
import { asArgs, CATALOG_CASES } from './catalog-cases.ts';

/** Attentions per model at its small config; the rest have none of the dot-product kind (additive, Nadaraya-Watson, a bare masked softmax). */
const ATTENTIONS: Record<string, number> = {
  dot_product_attention: 1,
  d2l_multihead_attention: 1,
  torch_multihead_attention: 1,
  // 1 encoder layer: 1 self-attention; 2 decoder layers: 2 self, 2 cross
  transformer: 5,
  transformer_encoder: 1,
  transformer_decoder_step: 4,
  torch_transformer: 5,
  // 2 layers
  vit_b_16: 2, vit_b_32: 2, vit_l_16: 2, vit_l_32: 2, vit_h_14: 2,
  // depths 2, 2: W-MSA and SW-MSA in each stage
  swin_t: 4, swin_s: 4, swin_b: 4,
};
/**
 * Of those, how many take their heads packed, (..., n, H*E): all with a head split (Swin's shifted
 * windows as (B, nW, n, C), where their per-window mask broadcasts).
 */
const PACKED: Record<string, number> = { ...ATTENTIONS, dot_product_attention: 0 };

describe('fusions on every catalog model', () => {
  for (const { entry, config } of CATALOG_CASES) {
    it(`${entry.name} ${asArgs(config).join(' ')}`, async () => {
      const { built } = buildModel(entry.name, asArgs(config));
      const traced = trace(built.module, built.inputs, built.outputs);
      const fused = compile(traced);
      const unfused = compile(traced, { fuse: false });
      const counts = fusionCounts(fused.stats);
      const attentions = ATTENTIONS[entry.name] ?? 0;
      expect(counts.attention).toBe(attentions);
      expect(counts['attention-heads']).toBe(PACKED[entry.name] ?? 0);
      const swin = entry.name.startsWith('swin');
      expect(counts['qkv-split']).toBe(swin ? 3 * attentions : 0);
      expect([counts['window-partition'], counts['window-reverse']]).toEqual(swin ? [attentions, attentions] : [0, 0]);
      // depths 2, 2: one patch merging between the stages
      expect(counts['patch-merge']).toBe(swin ? 1 : 0);
      // in-projections from one packed weight (torch's in_proj_weight) of one input: one matmul for
      // self-attention's Q, K, V, and for cross-attention's K, V of the memory (torch_transformer: 3 self, 2 cross)
      const packedProjections = entry.name.startsWith('vit') || config.self_attention ? attentions : entry.name === 'torch_transformer' ? 5 : 0;
      expect(counts['linear-siblings']).toBe(packedProjections);
      expect(fused.graph.nodes.filter((n) => n.op === 'Attention')).toHaveLength(attentions);
      expect(fusionCounts(unfused.stats)).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, 0])));

      const symbols = inputSymbols(traced);
      const inputs = randomInputs(traced, new Map(symbols.map((s, i) => [s, s === 'B' ? 2 : 3 + i])), 7);
      const weights = initialWeights(traced, 3);
      const [a, b] = [interpret(fused.graph, inputs, { weights }), interpret(unfused.graph, inputs, { weights })];
      for (const name of Object.keys(b)) expect(maxAbsDiff(a[name]!, b[name]!), `host ${name}`).toBeLessThanOrEqual(1e-5);

      const [sessionFused, sessionUnfused] = await Promise.all([Session.create(fused.graph, { weights }), Session.create(unfused.graph, { weights })]);
      try {
        const [x, y] = [await sessionFused.run(inputs), await sessionUnfused.run(inputs)];
        for (const name of Object.keys(y)) expect(maxAbsDiff(x[name]!, y[name]!), `tfjs ${name}`).toBeLessThanOrEqual(1e-5);
        for (const name of Object.keys(y)) expect(maxAbsDiff(x[name]!, b[name]!), `tfjs vs host ${name}`).toBeLessThanOrEqual(1e-4);
      } finally {
        sessionFused.dispose();
        sessionUnfused.dispose();
      }
    }, 60_000);
  }
});
