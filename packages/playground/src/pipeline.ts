/**
 * What the page does with a model, in the order the CLI does it (packages/cli/src/model.ts and
 * commands/run.ts): build from the catalog with `key=value` config, trace, initial weights for the
 * CLI's default seed, compile; run on tfjs on the seeded random inputs of `run --random-inputs`.
 * Loaded on demand, so the first view does not wait for tfjs and the compiler.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { compile, exportOnnx, formatFusions, fusionCounts, humanCount, ONNX_TARGETS, type OnnxTarget, readableFlops, type Summary, summarize } from '@tessera/compiler';
import { checkWeights, type Graph, type HostTensor, initialWeights, type Module, randomInputs, symbolSizes, trace } from '@tessera/graph-dsl';
import { buildModel, CATALOG, type CatalogEntry, type Config, configValueText, configWords, type FileModel, IMAGENET_LABELS, ImageError, imageInput, inputImage, preprocess, presetFor, type RgbImage, loadStateDict, topK } from '@tessera/models';
import { type BackendInfo, initBackendInfo, Session } from '@tessera/runtime-tfjs';
import { decodeSafetensors, dequantizeWeights, encodeSafetensors } from '@tessera/safetensors/codec';
import { type AttentionBlock, attentionBlocks, exposeAttention } from './attention-map.ts';
import type { Request, RunResult } from './contract.ts';
import { summarizeOutputs } from './contract.ts';
import { chunkLines } from './source-lines.ts';

export { CATALOG, type CatalogEntry, configValueText, configWords };
export { boxCount, layoutGraph, MAX_BOXES } from './graph-layout.ts';
export { humanCount, ONNX_TARGETS, type OnnxTarget, readableFlops };
export { blockMap } from './attention-map.ts';

// catalog models' own source lines for this chunk's nodes (source-lines.ts), loaded with the chunk so that compiling maps them at once
const catalogLines = await chunkLines(import.meta.url);

/** The seed of the initial weights when no weights are given: the CLI's (prepareModel's) default. */
export const WEIGHTS_SEED = 0;

export interface Compiled {
  readonly name: string;
  readonly config: Config;
  readonly module: Module;
  readonly traced: Graph;
  readonly graph: Graph;
  readonly weights: Map<string, HostTensor>;
  /** Where the weights came from, for the page. */
  readonly weightsSource: string;
  readonly fusions: Record<string, number>;
  /** `tessera compile --explain`'s report: each rule's count and every near-match with its reason. */
  readonly explain: string;
  /** ViT's and Swin's attention blocks whose probabilities the graph also returns, when asked for. */
  readonly attention: readonly AttentionBlock[];
}

/** A .safetensors file the user picked: its name, for messages, and its bytes. */
export interface WeightsFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * As the CLI's prepareModel: a state_dict file loaded as --weights loads it (loadStateDict) and checked against the graph; else initial weights.
 * `attention`: ViT's and Swin's attention probabilities of every block are extra outputs (for the map over a classified image).
 */
export function compileModel(name: string, config: readonly string[], file?: WeightsFile, options: { readonly attention?: boolean } = {}): Compiled {
  const { config: resolved, built } = buildModel(name, config);
  return compileTraced({ name, config: resolved, ...built }, trace(built.module, built.inputs, built.outputs), file, options);
}

/** compileModel's steps after tracing, for a model of any source (the editor's model file too). */
export function compileTraced(model: FileModel, recorded: Graph, file?: WeightsFile, options: { readonly attention?: boolean } = {}): Compiled {
  const { name, config: resolved, module } = model;
  const traced = catalogLines(recorded);
  let weights: Map<string, HostTensor>;
  let notes: readonly string[] = [];
  if (file) {
    // as --weights: float16 and int8 files read as float32, buffers checked and taken out, a ViT trained at another size interpolates its position embedding
    ({ weights, notes } = loadStateDict(module, dequantizeWeights(decodeSafetensors(file.bytes, file.name), file.name), file.name));
    checkWeights(traced, weights, { source: file.name });
  } else weights = initialWeights(traced, WEIGHTS_SEED);
  const attention = options.attention ? attentionBlocks(module, traced) : [];
  const { graph, stats } = compile(exposeAttention(traced, attention), { weights, explain: true });
  const weightsSource = file ? `${file.name}${notes.length ? ` (${notes.join('; ')})` : ''}` : `initial (seed ${WEIGHTS_SEED})`;
  return { name, config: resolved, module, traced, graph, weights, weightsSource, fusions: fusionCounts(stats), explain: formatFusions(stats), attention };
}

/** The tfjs backend the page runs on: wasm where the browser runs WebAssembly (its binaries served beside the page), else cpu. */
export function startBackend(): Promise<BackendInfo> {
  setWasmPaths({ 'tfjs-backend-wasm.wasm': wasm, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd });
  return initBackendInfo('auto');
}

export async function runModel(model: Compiled, seed: number): Promise<Record<string, HostTensor>> {
  const session = await Session.create(model.graph, { weights: model.weights });
  try {
    return await session.run(randomInputs(model.graph, symbolSizes(model.graph), seed));
  } finally {
    session.dispose();
  }
}

/** The contract's answer for a request: compile, and run when asked. */
export async function answer(request: Request, backend: BackendInfo, compiled: Compiled): Promise<RunResult> {
  const outputs = request.run ? summarizeOutputs(await runModel(compiled, request.seed)) : {};
  return { model: request.model, backend: backend.name, fusions: compiled.fusions, outputs };
}

/** The ONNX file `tessera export NAME --onnx F --target T` writes for the same config (initial weights, seed 0). */
export const onnxFile = (model: Compiled, target: OnnxTarget): Uint8Array => exportOnnx(model.graph, { weights: model.weights, target });

/** The weights as a safetensors file, by state_dict name: what `--weights` reads back. */
export const weightsFile = (model: Compiled): Uint8Array => encodeSafetensors(model.weights, { model: model.name, weights: model.weightsSource });

/** `tessera summary`'s data: the layers with parameters, output types and FLOPs, the totals. */
export const summaryOf = (model: Compiled): Summary => summarize(model);

export interface Classified {
  /** The model's input size and the preset that resized the image to it. */
  readonly input: string;
  readonly top: readonly { readonly index: number; readonly label: string; readonly probability: number }[];
  /** The crop the model saw, as an image. */
  readonly seen: RgbImage;
  /** Each attention block's probabilities (the compiled model's `attention`), by graph output, from the run that gave the top-5. */
  readonly probs: Record<string, HostTensor>;
}

/** One run on a preprocessed (1, 3, H, W) image: the logits, and each attention block's probabilities by graph output. */
export async function runPixels(model: Compiled, pixels: HostTensor): Promise<{ logits: HostTensor; probs: Record<string, HostTensor> }> {
  const session = await Session.create(model.graph, { weights: model.weights });
  let outputs: Record<string, HostTensor>;
  try {
    outputs = await session.run({ [imageInput(model.graph)!.name]: pixels });
  } finally {
    session.dispose();
  }
  return { logits: outputs[model.graph.outputs[0]!.name]!, probs: Object.fromEntries(model.attention.map((b) => [b.output, outputs[b.output]!])) };
}

/** `tessera run NAME --image`: torchvision's preprocessing, the model, the top-5 classes (ImageNet's labels for 1000 classes). */
export async function classify(model: Compiled, image: RgbImage, source: string): Promise<Classified> {
  const input = imageInput(model.graph);
  if (!input) throw new ImageError(`model '${model.name}' does not take an image (one input of shape (1, 3, H, W)); pick a vision model (vit_*, swin_*)`);
  const preset = presetFor(model.name, input.height, input.width);
  const pixels = preprocess(image, preset, [input.height, input.width]);
  const { logits, probs } = await runPixels(model, pixels);
  const classes = logits.shape.at(-1)!;
  const top = topK(logits.data as Float32Array, Math.min(5, classes)).map((r) => ({ ...r, label: classes === 1000 ? IMAGENET_LABELS[r.index]! : `class ${r.index}` }));
  return { input: `${source} (${image.width}x${image.height}) -> ${input.width}x${input.height}, resize ${preset.resize} ${preset.interpolation}, center crop`, top, seen: inputImage(pixels), probs };
}
