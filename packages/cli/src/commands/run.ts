import { exportOnnxModel, type OnnxTarget } from '@tessera/compiler';
import { type OnnxFileOptions, runOnnxModel } from '@tessera/compiler/node';
import { bindInputs, type DType, evaluateDim, type Graph, type HostTensor, hostTensor, InputError, randomInputs, RUN_SIZES, sizeOf, sourceToString, symbolSizes, typeToString } from '@tessera/graph-dsl';
import { checkInputValues } from '@tessera/models';
import { BackendError, initBackendInfo, Session } from '@tessera/runtime-tfjs';
import { type Decoded, readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { type Args, expectOptions, flag, option, requireOption, UsageError } from '../args.ts';
import { checkOutputs } from '@tessera/graph-dsl/node';
import { prepareModel } from '../model.ts';
import { onnxTarget } from '../onnx-target.ts';

const BACKENDS = ['auto', 'tfjs-node', 'wasm', 'cpu', 'onnxruntime'] as const;
type Backend = (typeof BACKENDS)[number];

/** `--random-inputs SEED`: seeded random inputs (the sizes of RUN_SIZES) in place of `--inputs`. */
function randomSeed(args: Args): number | undefined {
  const text = option(args, 'random-inputs');
  if (text === undefined) return undefined;
  if (option(args, 'inputs') !== undefined) throw new UsageError('--inputs and --random-inputs both give the inputs: pass one of them');
  const seed = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seed)) throw new UsageError(`--random-inputs ${text}: expected a seed, a whole number from 0`);
  return seed;
}

export async function runCommand(args: Args, log: (line: string) => void): Promise<string> {
  expectOptions(args, ['inputs', 'random-inputs', 'output', 'weights', 'config', 'backend', 'no-fuse', 'target']);
  const name = args.positional[0];
  if (!name) throw new UsageError('tessera run needs a MODEL (see tessera list)');
  const seed = randomSeed(args);
  const inputsPath = seed === undefined ? requireOption(args, 'inputs', 'FILE.safetensors') : undefined;
  const outputPath = requireOption(args, 'output', 'FILE.safetensors');
  const backend = (option(args, 'backend') ?? 'auto') as Backend;
  if (!BACKENDS.includes(backend)) throw new UsageError(`--backend ${backend}: expected one of ${BACKENDS.join(', ')}`);

  checkOutputs({ '--output': outputPath }, { '--inputs': inputsPath, '--weights': option(args, 'weights') });
  const model = await prepareModel(name, args.options.get('config') ?? [], option(args, 'weights'), 0, { fuse: !flag(args, 'no-fuse') });
  if (!option(args, 'weights')) log(`no --weights: ${name} runs on its ${model.weightsSource} weights, not trained ones`);
  for (const note of model.weightsNotes) log(`--weights ${option(args, 'weights')}: ${note}`);
  const file = inputsPath === undefined ? undefined : readSafetensorsFile(inputsPath);
  let inputs: Record<string, HostTensor>;
  if (file === undefined) {
    inputs = randomInputs(model.graph, symbolSizes(model.graph), seed);
    log(`random inputs (seed ${seed}): batch ${RUN_SIZES.batch}, every other symbolic dim ${RUN_SIZES.other}`);
  } else inputs = Object.fromEntries(file.tensors);
  const bindings = withStoredDtypes(file, () => bindInputs(model.graph, inputs, inputsPath));
  checkInputValues(model.module, inputs, bindings, inputsPath);

  let outputs: Record<string, HostTensor>;
  let used: string;
  const empty = emptyOutputs(model.graph, inputs, bindings, inputsPath);
  if (empty) {
    outputs = empty;
    used = 'no backend (an empty input gives empty outputs)';
  } else if (backend === 'onnxruntime') {
    const target = onnxTarget(args);
    outputs = await runOnOnnxRuntime(model.graph, model.weights, target, inputs);
    used = `onnxruntime-node (CPU, ${target} ONNX)`;
  } else {
    const selected = await initBackendInfo(backend);
    log(selected.reason);
    if (selected.name === 'wasm') checkWasmMemory(model.graph, bindings);
    const session = await Session.create(model.graph, { weights: model.weights });
    try {
      outputs = await session.run(inputs);
    } catch (e) {
      // wasm aborts when its memory (at most 4 GiB) runs out: the instance is gone (disposing would fail too), say why
      if (selected.name === 'wasm' && /Aborted\(|memory access out of bounds/.test(String(e))) throw new BackendError(`the wasm backend ran out of memory (${wasmMemoryNote(model.graph, bindings)}); run it with --backend onnxruntime, or on fewer inputs at a time`);
      session.dispose();
      throw e;
    }
    session.dispose();
    used = `tfjs ${selected.name}`;
  }
  writeSafetensorsFile(outputPath, new Map(Object.entries(outputs)), { model: name, backend: used });
  const described = Object.entries(outputs).map(([k, t]) => `${k} ${typeToString({ dtype: t.dtype, shape: t.shape })}`);
  return `ran ${name} on ${used}: ${described.join(', ')} -> ${outputPath}`;
}

/** A bindInputs error about a tensor the file stores in another dtype says so (an I64 tensor is read as int32). */
function withStoredDtypes<T>(file: Decoded | undefined, bind: () => T): T {
  try {
    return bind();
  } catch (e) {
    if (!(e instanceof InputError) || !file) throw e;
    const widened = [...file.stored].filter(([name, stored]) => stored !== STORED_NAME[file.tensors.get(name)!.dtype] && e.message.includes(`'${name}'`));
    if (widened.length === 0) throw e;
    throw new InputError(`${e.message} The file stores ${widened.map(([name, stored]) => `'${name}' as ${stored}, read as ${file.tensors.get(name)!.dtype}`).join('; ')}.`);
  }
}

const STORED_NAME: Readonly<Record<DType, string>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

/**
 * Outputs of inputs with a dim of 0 (a batch of none): every output is empty too, as PyTorch and
 * ONNX Runtime give, without running anything (kernels divide by the size). An output that would
 * hold values computed from nothing (a softmax over 0 keys) is refused. Undefined when no input is empty.
 */
export function emptyOutputs(graph: Graph, inputs: Readonly<Record<string, HostTensor>>, bindings: ReadonlyMap<string, number>, source?: string): Record<string, HostTensor> | undefined {
  const empty = Object.entries(inputs).find(([, t]) => t.shape.includes(0));
  if (!empty) return undefined;
  const outputs = graph.outputs.map(({ name, value }) => {
    const type = graph.types.get(value)!;
    return { name, dtype: type.dtype, shape: type.shape.map((d) => evaluateDim(d, bindings)) };
  });
  const full = outputs.find((o) => !o.shape.includes(0));
  if (full) throw new InputError(`${source ? `inputs ${source}: ` : ''}input '${empty[0]}' is empty (${typeToString(empty[1])}), but output '${full.name}' would be ${typeToString(full)}, values computed from no values; give at least one element along every dim`);
  return Object.fromEntries(outputs.map((o) => [o.name, hostTensor(o.dtype, o.shape)]));
}

/** tfjs-wasm's memory: at most 4 GiB (32-bit addresses). */
const WASM_MEMORY = 4 * 2 ** 30;

/** The largest value a run computes, by its type with the inputs' dims bound. */
function largestValue(graph: Graph, bindings: ReadonlyMap<string, number>) {
  let largest = { bytes: 0, text: '' };
  for (const node of graph.nodes) {
    for (const value of node.outputs) {
      const type = graph.types.get(value)!;
      const shape = type.shape.map((d) => evaluateDim(d, bindings));
      const bytes = sizeOf(shape) * (type.dtype === 'bool' ? 1 : 4);
      if (bytes > largest.bytes) largest = { bytes, text: `${node.op}${node.source ? ` at ${sourceToString(node.source)}` : ''} makes a ${typeToString({ dtype: type.dtype, shape })} tensor of ${(bytes / 2 ** 30).toFixed(2)} GiB` };
    }
  }
  return largest;
}

function wasmMemoryNote(graph: Graph, bindings: ReadonlyMap<string, number>): string {
  return `it holds at most ${WASM_MEMORY / 2 ** 30} GiB; ${largestValue(graph, bindings).text}`;
}

/** A run that needs a tensor larger than wasm's whole memory is refused before it starts (it would abort after minutes). */
function checkWasmMemory(graph: Graph, bindings: ReadonlyMap<string, number>): void {
  if (largestValue(graph, bindings).bytes >= WASM_MEMORY) throw new BackendError(`this run does not fit in the wasm backend's memory (${wasmMemoryNote(graph, bindings)}); run it with --backend onnxruntime, or on fewer inputs at a time`);
}

/** Runs on ONNX Runtime from the export of `target`; `external` forces external data (for tests). */
export function runOnOnnxRuntime(
  graph: Graph, weights: ReadonlyMap<string, HostTensor>, target: OnnxTarget, inputs: Readonly<Record<string, HostTensor>>,
  external: Pick<OnnxFileOptions, 'externalData' | 'externalThreshold'> = {},
): Promise<Record<string, HostTensor>> {
  return runOnnxModel(exportOnnxModel(graph, { weights, target }), inputs, external);
}
