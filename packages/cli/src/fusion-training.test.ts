/**
 * Training through fused graphs: one SGD step on a scalar loss over the outputs moves every
 * parameter as it does through the unfused graph, so the gradients through Attention, Linear,
 * Gelu and the window ops equal those through the ops they replace.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { compile, fusionCounts, GraphEditor } from '@tessera/compiler';
import { type Graph, hostTensor, initialWeights, inputSymbols, maxAbsDiff, randomInputs, seededRandom, trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { Session } from '@tessera/runtime-tfjs';
import { asArgs } from './catalog-cases.ts';

/** The graph with one more output, loss = sum over the float outputs of sum(output * fixed random weights). */
function withLoss(graph: Graph): Graph {
  const editor = new GraphEditor(graph, 'with-loss');
  for (const node of graph.nodes) editor.copy(node);
  const random = seededRandom(11);
  let loss: number | undefined;
  for (const o of graph.outputs) {
    const t = graph.types.get(o.value)!;
    if (t.dtype !== 'float32' || t.shape.some((d) => typeof d !== 'number')) continue;
    const shape = t.shape as number[];
    const w = editor.constant(hostTensor('float32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5)));
    const product = editor.add('Mul', [editor.value(o.value), w], {})[0]!;
    const term = editor.add('ReduceSum', [product], { axes: shape.map((_, i) => i), keepdims: false })[0]!;
    loss = loss === undefined ? term : editor.add('Add', [loss, term], {})[0]!;
  }
  const done = editor.finish();
  return { ...done, outputs: [...done.outputs, { name: 'loss', value: loss! }] };
}

const CASES: [string, Record<string, string | number>][] = [
  ['torch_transformer', { d_model: 16, nhead: 2, num_encoder_layers: 1, num_decoder_layers: 1, dim_feedforward: 32, dropout: 0, batch: 2, src_len: 5, tgt_len: 4 }],
  ['swin_t', { embed_dim: 16, depths: '2,2', num_heads: '2,4', window_size: '4,4', image_size: 56, num_classes: 10, batch: 2 }],
  ['vit_b_16', { image_size: 32, patch_size: 8, num_layers: 1, num_heads: 2, hidden_dim: 16, mlp_dim: 32, num_classes: 10, batch: 2 }],
];

describe('gradients through fused graphs', () => {
  for (const [name, config] of CASES) {
    it(`${name}: one SGD step moves every parameter as the unfused graph does`, async () => {
      const { built } = buildModel(name, asArgs(config));
      const traced = withLoss(trace(built.module, built.inputs, built.outputs));
      // noise on top of the initial weights: ViT's head starts at zero, which would stop every gradient behind it
      const noise = seededRandom(3);
      const weights = new Map([...initialWeights(traced, 2)].map(([k, t]) => [k, hostTensor('float32', t.shape, Array.from(t.data, (x) => x + 0.05 * (noise() - 0.5)))]));
      const symbols = inputSymbols(traced);
      const inputs = randomInputs(traced, new Map(symbols.map((s) => [s, 2])), 4);
      const stepped = await Promise.all([true, false].map(async (fuse) => {
        const { graph, stats } = compile(traced, { mode: 'train', fuse });
        const session = await Session.create(graph, { weights, mode: 'train' });
        try {
          session.trainStep(inputs, { loss: 'loss', optimizer: tf.train.sgd(1) });
          return { counts: fusionCounts(stats), after: session.getWeights() };
        } finally {
          session.dispose();
        }
      }));
      const [fused, unfused] = stepped as [typeof stepped[0], typeof stepped[0]];
      expect(fused.counts.attention).toBeGreaterThan(0);
      let moved = 0;
      for (const [param, before] of weights) {
        const [a, b] = [fused.after.get(param)!, unfused.after.get(param)!];
        expect(maxAbsDiff(a, b), param).toBeLessThanOrEqual(1e-5);
        if (maxAbsDiff(b, before) > 1e-6) moved++;
      }
      // the step did something: most parameters moved
      expect(moved).toBeGreaterThan(weights.size / 2);
    });
  }
});
