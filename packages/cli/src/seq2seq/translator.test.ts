import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tfjs from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { numbersCorpus } from './corpus.ts';
import { trainTranslator } from './trainer.ts';
import { int8Engine, newSpec, ortEngine, tfjsEngine, toBatch, translate, TranslationError, translatorGraphs } from './translator.ts';
import { Vocab } from './vocab.ts';

const corpus = numbersCorpus();
const small = { d_model: 16, nhead: 2, num_encoder_layers: 1, num_decoder_layers: 2, dim_feedforward: 32, dropout: 0.1 };

describe('a translator', () => {
  const spec = newSpec(corpus.train, small, 12);

  it('batches: <eos> appended, padded to the step count, <bos> + target shifted right, valid lengths', () => {
    const src = new Vocab(spec.srcVocab);
    const tgt = new Vocab(spec.tgtVocab);
    const b = toBatch([{ source: 'seven', target: 'sept' }, { source: 'one hundred twenty one', target: 'cent vingt et un' }], src, tgt, 6);
    expect(b.src.shape).toEqual([2, 6]);
    expect(Array.from(b.src_valid_lens.data)).toEqual([2, 5]);
    expect(Array.from(b.label_valid_lens.data)).toEqual([2, 5]);
    const row1 = Array.from(b.labels.data.slice(6, 12));
    expect(tgt.decode(row1)).toEqual(['cent', 'vingt', 'et', 'un']);
    expect(Array.from(b.tgt.data.slice(6, 12))).toEqual([tgt.bos, ...row1.slice(0, 5)]);
  });

  it('resumes where it stopped: Adam state restored, the same batches, the loss an uninterrupted run has', async () => {
    const noDropout = newSpec(corpus.train, { ...small, dropout: 0 }, 12);
    const pairs = corpus.train.slice(0, 256);
    const o = { lr: 0.01, batchSize: 64, labelSmoothing: 0, clipNorm: 1, seed: 0 };
    const straight = await trainTranslator(noDropout, pairs, undefined, undefined, { ...o, epochs: 2 });
    const first = await trainTranslator(noDropout, pairs, undefined, undefined, { ...o, epochs: 1 });
    const resumed = await trainTranslator(noDropout, pairs, first.weights, first.training, { ...o, epochs: 1 }, first.optimizerState);
    const fresh = await trainTranslator(noDropout, pairs, first.weights, first.training, { ...o, epochs: 1 });
    expect(resumed.training.epochs).toBe(2);
    expect(Math.abs(resumed.training.losses[1]! - straight.training.losses[1]!)).toBeLessThan(1e-3);
    expect(Math.abs(fresh.training.losses[1]! - straight.training.losses[1]!)).toBeGreaterThan(Math.abs(resumed.training.losses[1]! - straight.training.losses[1]!));
  }, 60_000);

  it('has dropout in the training graph only', () => {
    const g = translatorGraphs(spec);
    expect(g.train().nodes.filter((n) => n.op === 'Dropout').length).toBeGreaterThan(0);
    for (const eval_ of [g.encoder(), g.decoderStep()]) expect(eval_.nodes.some((n) => n.op === 'Dropout')).toBe(false);
  });

  it('trains (loss falls), checkpoints, and decodes the same tokens with the cached step on tfjs and on ONNX Runtime', async () => {
    const r = await trainTranslator(spec, corpus.train, undefined, undefined, { epochs: 3, lr: 0.01, batchSize: 64, labelSmoothing: 0.1, clipNorm: 1, seed: 0 });
    expect(r.training.losses).toHaveLength(3);
    expect(r.training.losses[2]!).toBeLessThan(r.training.losses[0]! * 0.7);
    const dir = mkdtempSync(path.join(tmpdir(), 'tessera-translator-'));
    saveCheckpoint(dir, { spec, training: r.training, weights: r.weights });
    expect(readFileSync(path.join(dir, 'loss.svg'), 'utf8')).toContain('<polyline');
    const loaded = loadCheckpoint(dir, (s) => translatorGraphs(s).train());
    expect(loaded.training.epochs).toBe(3);

    const graphs = translatorGraphs(loaded.spec);
    const sentences = corpus.heldOut.slice(0, 8).map((p) => p.source);
    const tensorsBefore = tfjs.memory().numTensors;
    const tf = await tfjsEngine(graphs.encoder(), graphs.decoderStep(), loaded.weights);
    const ort = await ortEngine(graphs.encoder(), graphs.decoderStep(), loaded.weights);
    const int8 = await int8Engine(graphs.encoder(), graphs.decoderStep(), loaded.weights);
    try {
      const a = await translate(tf, loaded.spec, graphs.layers, sentences);
      const b = await translate(ort, loaded.spec, graphs.layers, sentences);
      expect(b.map((t) => t.tokens)).toEqual(a.map((t) => t.tokens));
      // int8: one pass quantized both halves; the encoder's outputs move, a little
      expect(int8.name).toMatch(/^onnxruntime-node int8 \((\d+) of \d+ matmuls, \1 MatMulInteger\/DynamicQuantizeMatMul nodes\)$/);
      expect(Number(/\((\d+) of/.exec(int8.name)![1])).toBeGreaterThan(0);
      const src = toBatch(corpus.heldOut.slice(0, 8), new Vocab(loaded.spec.srcVocab), new Vocab(loaded.spec.tgtVocab), loaded.spec.numSteps);
      const [fp32Enc, int8Enc] = [(await ort.encode({ src: src.src, src_valid_lens: src.src_valid_lens })).enc_outputs!, (await int8.encode({ src: src.src, src_valid_lens: src.src_valid_lens })).enc_outputs!];
      const moved = Math.max(...Array.from(fp32Enc.data, (v, i) => Math.abs(v - int8Enc.data[i]!)));
      expect(moved).toBeGreaterThan(0);
      expect(moved / Math.max(...Array.from(fp32Enc.data, Math.abs))).toBeLessThan(0.05);
      expect((await translate(int8, loaded.spec, graphs.layers, sentences)).every((t) => t.tokens.length > 0)).toBe(true);
      expect(a.some((t) => t.tokens.length > 0)).toBe(true);
      const beam = await translate(tf, loaded.spec, graphs.layers, sentences.slice(0, 2), { beam: 3 });
      expect(beam).toHaveLength(2);
      // bad input: unknown words are <unk> and reported; empty and too-long sentences are errors
      const [unk] = await translate(tf, loaded.spec, graphs.layers, ['four hundred zillion']);
      expect(unk!.unknown).toEqual(['zillion']);
      await expect(translate(tf, loaded.spec, graphs.layers, ['   '])).rejects.toThrow(TranslationError);
      await expect(translate(tf, loaded.spec, graphs.layers, [Array(1000).fill('one').join(' ')])).rejects.toThrow(/more than the 1000 positions/);
    } finally {
      await tf.dispose();
      await ort.dispose();
      await int8.dispose();
    }
    expect(tfjs.memory().numTensors).toBe(tensorsBefore); // the device-resident caches are all freed

    // a checkpoint whose config says another model: one clear error naming the file and the mismatch
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, model: { ...config.model, dim_feedforward: 64 } }));
    expect(() => loadCheckpoint(dir, (s) => translatorGraphs(s).train())).toThrow(CheckpointError);
    expect(() => loadCheckpoint(dir, (s) => translatorGraphs(s).train())).toThrow(/dim_feedforward=64.*linear|dense1/);
  }, 60_000);
});
