/** `tessera train transformer`: trains the article's Transformer on the shipped English -> French numbers corpus. */
import path from 'node:path';
import { writeFileAtomic } from '@tessera/graph-dsl/node';
import type { HostTensor } from '@tessera/graph-dsl';
import { initBackendInfo } from '@tessera/runtime-tfjs';
import { checkpointToEvaluate, figuresLine } from '../int8-held-out.ts';
import { type Args, expectOptions, flag, option, requireOption, UsageError } from '../args.ts';
import { prepareCheckpointDir, untilInterrupted } from '../interrupt.ts';
import { FILES, loadCheckpoint, saveCheckpoint } from '../seq2seq/checkpoint.ts';
import { detokenize, numbersCorpus, type Pair } from '../seq2seq/corpus.ts';
import { agreement, type Evaluation, evaluate, trainTranslator } from '../seq2seq/trainer.ts';
import { exportHalves, int8Engine, newSpec, ortEngine, translatorGraphs, type TranslatorSpec } from '../seq2seq/translator.ts';

export const TRAIN_USAGE = `  train transformer --checkpoint DIR [--epochs 20] [--lr 0.005] [--batch-size 64] [--num-steps 12]
            [--label-smoothing 0] [--clip-norm 1] [--seed 0] [--config k=v ...] [--resume DIR] [--overwrite]
                                         train on English -> French number words (1..999, 100 held out); writes
                                         DIR/model.safetensors, optimizer.safetensors, config.json, loss.svg after
                                         every epoch and on Ctrl-C (--resume DIR goes on from there; --resume DIR
                                         --epochs 0 only evaluates DIR, writing nothing); prints held-out BLEU and
                                         exact match on tfjs, on ONNX Runtime and int8 (--quantize dynamic)`;

function numberOption(args: Args, name: string, fallback: number, check: (v: number) => boolean, what: string): number {
  const text = option(args, name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isFinite(v) || !check(v)) throw new UsageError(`--${name} ${text}: expected ${what}`);
  return v;
}

/** A one-line progress bar, redrawn in place on a terminal and printed once per epoch otherwise. */
function progressBar(write: (s: string) => void, tty: boolean) {
  let lastEpoch = 0;
  return (p: { epoch: number; batch: number; batches: number; loss: number; tokensPerSecond: number }, total: number) => {
    const width = 24;
    const filled = Math.round((width * p.batch) / p.batches);
    const line = `epoch ${String(p.epoch).padStart(String(total).length)}/${total} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] loss ${p.loss.toFixed(4)}  ${p.tokensPerSecond.toFixed(0)} tokens/s`;
    if (tty) write(`\r${line}${p.batch === p.batches ? '\n' : ''}`);
    else if (p.batch === p.batches && p.epoch !== lastEpoch) write(`${line}\n`);
    lastEpoch = p.batch === p.batches ? p.epoch : lastEpoch;
  };
}

/** Issue 10's target for the trained Transformer: int8 loses at most this much held-out mean BLEU. */
const MAX_BLEU_DROP = 0.01;

/** Held-out BLEU and exact match by one greedy loop on tfjs, on ONNX Runtime (fp32) and on ONNX Runtime int8, side by side. */
async function heldOutReport(spec: TranslatorSpec, weights: ReadonlyMap<string, HostTensor>, heldOut: readonly Pair[]): Promise<{ tfjs: Evaluation; lines: string[] }> {
  const [tfjs, onnx, int8] = [await evaluate(spec, weights, heldOut), await evaluate(spec, weights, heldOut, { engine: ortEngine }), await evaluate(spec, weights, heldOut, { engine: int8Engine })];
  const n = heldOut.length;
  return {
    tfjs,
    lines: [
      figuresLine(`held-out (${n} sentences, greedy with the KV cache) mean BLEU`, { tfjs: tfjs.meanBleu, onnx: onnx.meanBleu, int8: int8.meanBleu }, { digits: 3, suffix: '', unit: '', maxDrop: MAX_BLEU_DROP }),
      figuresLine('held-out exact match', { tfjs: 100 * tfjs.exact, onnx: 100 * onnx.exact, int8: 100 * int8.exact }, { digits: 0, suffix: '%', unit: ' points' }),
      `the same greedy loop over onnxruntime-node (the exported encoder and decoder step) gives the tfjs tokens on ${agreement(tfjs, onnx)}/${n} held-out sentences, int8 on ${agreement(tfjs, int8)}/${n}`,
      `  int8: ${int8.engine}`,
    ],
  };
}

export async function trainCommand(args: Args, log: (line: string) => void, stderr: { write: (s: string) => void; isTTY?: boolean } = process.stderr): Promise<string> {
  expectOptions(args, ['checkpoint', 'epochs', 'lr', 'batch-size', 'num-steps', 'label-smoothing', 'clip-norm', 'seed', 'config', 'resume', 'held-out', 'overwrite']);
  if (args.positional[0] !== 'transformer') throw new UsageError(`tessera train trains 'transformer' (the article's encoder-decoder), 'vit' or 'swin_t' (small ones, on generated shapes); got ${args.positional[0] === undefined ? 'nothing' : `'${args.positional[0]}'`}`);
  const epochs = numberOption(args, 'epochs', 20, (v) => Number.isInteger(v) && v >= 0, 'a whole number of epochs (0 with --resume DIR: evaluate DIR only)');
  const resume = option(args, 'resume');
  const dir = checkpointToEvaluate(epochs, resume) ?? requireOption(args, 'checkpoint', 'DIR (where the model is written)');
  const lr = numberOption(args, 'lr', 0.005, (v) => v > 0, 'a learning rate > 0');
  const batchSize = numberOption(args, 'batch-size', 64, (v) => Number.isInteger(v) && v >= 1, 'a whole batch size >= 1');
  const numSteps = numberOption(args, 'num-steps', 12, (v) => Number.isInteger(v) && v >= 2, 'a whole step count >= 2');
  const labelSmoothing = numberOption(args, 'label-smoothing', 0, (v) => v >= 0 && v < 1, 'a value in [0, 1)');
  const clipNorm = numberOption(args, 'clip-norm', 1, (v) => v > 0, 'a norm > 0');
  const seed = numberOption(args, 'seed', 0, (v) => Number.isInteger(v), 'a whole number');
  const heldOut = numberOption(args, 'held-out', 100, (v) => Number.isInteger(v) && v >= 1 && v < 999, 'a whole number from 1 to 998');
  // The best backend present. (Not selectable here: tfjs-core's gradients are registered only as a
  // side effect of trying tfjs-node, which 'auto' does first; see the report of issue 3.)
  log((await initBackendInfo('auto')).reason);

  const corpus = numbersCorpus({ heldOut });
  const from = resume ? loadCheckpoint(resume, (spec) => translatorGraphs(spec).train()) : undefined;
  if (from && args.options.has('config')) throw new UsageError('--config cannot change the model of a checkpoint being resumed (its config.json says what it is)');
  if (from && epochs === 0) {
    log(`evaluating ${resume} (after epoch ${from.training.epochs}) on ${corpus.heldOut.length} held-out sentences; nothing is trained or written`);
    return (await heldOutReport(from.spec, from.weights, corpus.heldOut)).lines.join('\n');
  }
  const spec = from?.spec ?? newSpec(corpus.train, args.options.get('config') ?? [], numSteps);
  const m = spec.model;
  // every target step reads a row of the positional encoding: past its table the first batch would fail deep in a Gather
  if (spec.numSteps > (m.max_len as number)) throw new UsageError(`--num-steps ${spec.numSteps}: the positional encoding covers max_len ${String(m.max_len)} positions; give at most ${String(m.max_len)} steps (or raise --config max_len)`);
  prepareCheckpointDir(dir, { resuming: resume !== undefined && path.resolve(resume) === path.resolve(dir), overwrite: flag(args, 'overwrite'), marker: FILES.config });
  log(`${from ? `resuming ${resume} after epoch ${from.training.epochs}${from.optimizerState ? ' with its Adam state' : ' (no optimizer state saved: Adam starts afresh)'}` : 'training a new model'}: d_model ${m.d_model}, ${m.nhead} heads, ${m.num_encoder_layers}+${m.num_decoder_layers} layers, ffn ${m.dim_feedforward}, dropout ${m.dropout}; vocabularies ${spec.srcVocab.length} (en) and ${spec.tgtVocab.length} (fr); ${corpus.train.length} training pairs, ${corpus.heldOut.length} held out; ${spec.numSteps} steps`);
  const bar = progressBar((s) => stderr.write(s), stderr.isTTY === true);
  const total = (from?.training.epochs ?? 0) + epochs;
  const partial = from?.training.partial ? 1 : 0;
  const result = await untilInterrupted((stopRequested) => trainTranslator(spec, corpus.train, from?.weights, from?.training, {
    epochs: epochs + partial, lr, batchSize, labelSmoothing, clipNorm, seed, onBatch: (p) => bar(p, total + partial), stopRequested,
    // every epoch, and where an interrupt stopped it: Ctrl-C never loses more than a step
    onCheckpoint: (state) => saveCheckpoint(dir, { spec, ...state }),
  }, from?.optimizerState));
  if (result.stoppedAt) {
    throw new UsageError(`interrupted after epoch ${result.stoppedAt.epoch}, batch ${result.stoppedAt.batch}: ${dir} holds the checkpoint of that step; continue with tessera train transformer --checkpoint ${dir} --resume ${dir}`);
  }
  const { tfjs: evaluation, lines } = await heldOutReport(spec, result.weights, corpus.heldOut);
  saveCheckpoint(dir, { spec, training: { ...result.training, heldOutBleu: evaluation.meanBleu }, weights: result.weights, optimizerState: result.optimizerState });
  const onnx = exportHalves(spec, result.weights);
  writeFileAtomic(path.join(dir, 'encoder.onnx'), onnx.encoder);
  writeFileAtomic(path.join(dir, 'decoder_step.onnx'), onnx.decoderStep);
  const worst = [...evaluation.examples].sort((a, b) => a.bleu - b.bleu).slice(0, 3).filter((e) => e.bleu < 1);
  return [
    `trained ${epochs} epochs in ${result.seconds.toFixed(1)} s (${(result.tokens / result.seconds).toFixed(0)} target tokens/s); loss ${result.training.losses[0]!.toFixed(3)} -> ${result.training.losses.at(-1)!.toFixed(3)}`,
    ...lines,
    ...worst.map((e) => `  ${e.source} => ${detokenize(e.prediction.split(' '))} (expected ${e.target}, BLEU ${e.bleu.toFixed(2)})`),
    `wrote ${dir}/${FILES.weights}, ${FILES.optimizer}, ${FILES.config}, ${FILES.loss}, encoder.onnx, decoder_step.onnx`,
  ].join('\n');
}
