/** `tessera translate --checkpoint DIR "sentence"`: decodes with the cached one-step decoder on tfjs or ONNX Runtime. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { checkOutputs, writeFileAtomic } from '@tessera/graph-dsl/node';
import { type Args, expectOptions, option, requireOption, UsageError } from '../args.ts';
import { loadCheckpoint } from '../seq2seq/checkpoint.ts';
import { detokenize } from '../seq2seq/corpus.ts';
import { heatmapSvg } from '../seq2seq/svg.ts';
import { ortEngine, tfjsEngine, translate, translatorGraphs } from '../seq2seq/translator.ts';

export const TRANSLATE_USAGE = `  translate --checkpoint DIR "SENTENCE" ... [--beam N] [--max-len N] [--backend tfjs|onnxruntime]
            [--attention LAYER --attention-svg FILE.svg]
                                         translate with a trained checkpoint (greedy, or beam search);
                                         unknown words read as <unk> and are reported`;

export async function translateCommand(args: Args, log: (line: string) => void): Promise<string> {
  expectOptions(args, ['checkpoint', 'beam', 'max-len', 'backend', 'attention', 'attention-svg']);
  const dir = requireOption(args, 'checkpoint', 'DIR (written by tessera train transformer)');
  if (args.positional.length === 0) throw new UsageError('tessera translate needs a sentence, e.g. tessera translate --checkpoint DIR "four hundred twenty seven"');
  const beam = Number(option(args, 'beam') ?? 1);
  if (!Number.isInteger(beam) || beam < 1) throw new UsageError(`--beam ${option(args, 'beam')}: expected a whole beam width >= 1`);
  const backend = option(args, 'backend') ?? 'tfjs';
  if (backend !== 'tfjs' && backend !== 'onnxruntime') throw new UsageError(`--backend ${backend}: expected tfjs or onnxruntime`);
  const attentionText = option(args, 'attention');
  const svgPath = option(args, 'attention-svg');
  if ((attentionText === undefined) !== (svgPath === undefined)) throw new UsageError('--attention LAYER and --attention-svg FILE go together');
  // checked before any work: an SVG path in a missing directory or over the checkpoint is refused now, not after decoding
  if (svgPath !== undefined) {
    const checkpointFiles = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()) : [];
    checkOutputs({ '--attention-svg': svgPath }, Object.fromEntries(checkpointFiles.map((e) => [`checkpoint's ${e.name}`, path.join(dir, e.name)])));
  }
  const checkpoint = loadCheckpoint(dir, (spec) => translatorGraphs(spec).train());
  const graphs = translatorGraphs(checkpoint.spec);
  const attentionLayer = attentionText === undefined ? undefined : Number(attentionText);
  if (attentionLayer !== undefined && !(Number.isInteger(attentionLayer) && attentionLayer >= 0 && attentionLayer < graphs.layers)) {
    throw new UsageError(`--attention ${attentionText}: the decoder has layers 0 to ${graphs.layers - 1}`);
  }
  if (attentionLayer !== undefined && beam > 1) throw new UsageError('--attention shows greedy decoding; leave out --beam');
  const maxLen = Number(option(args, 'max-len') ?? checkpoint.spec.numSteps);
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new UsageError(`--max-len ${option(args, 'max-len')}: expected a whole number >= 1`);
  // each decoding step reads its row of the positional encoding
  const positions = checkpoint.spec.model.max_len as number;
  if (maxLen > positions) throw new UsageError(`--max-len ${maxLen}: the positional encoding covers max_len ${positions} positions; decode at most ${positions} tokens`);
  const make = backend === 'onnxruntime' ? ortEngine : tfjsEngine;
  const engine = await make(graphs.encoder(), graphs.decoderStep(), checkpoint.weights);
  try {
    const out = await translate(engine, checkpoint.spec, graphs.layers, args.positional, { beam, maxLen, ...(attentionLayer !== undefined ? { attentionLayer } : {}) });
    out.forEach((t) => {
      if (t.unknown.length) log(`note: ${t.unknown.map((w) => `'${w}'`).join(', ')} not in the source vocabulary; read as <unk>`);
    });
    if (svgPath && attentionLayer !== undefined) {
      const t = out[0]!;
      writeFileAtomic(svgPath, new TextEncoder().encode(heatmapSvg(t.attention ?? [], [...t.tokens, '<eos>'].slice(0, t.attention?.length ?? 0), t.sourceTokens, `encoder-decoder attention, decoder block ${attentionLayer} (mean over heads)`)));
      log(`wrote the attention of decoder block ${attentionLayer} to ${svgPath}`);
    }
    return out.map((t) => detokenize(t.tokens)).join('\n');
  } finally {
    await engine.dispose();
  }
}
