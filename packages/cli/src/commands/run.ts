import { exportOnnx } from '@tessera/compiler';
import { runOnnxRuntime } from '@tessera/compiler/node';
import { bindInputs, type HostTensor, randomInputs, RUN_SIZES, symbolSizes, typeToString } from '@tessera/graph-dsl';
import { initBackendInfo, Session } from '@tessera/runtime-tfjs';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
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
  let inputs: Record<string, HostTensor>;
  if (inputsPath === undefined) {
    inputs = randomInputs(model.graph, symbolSizes(model.graph), seed);
    log(`random inputs (seed ${seed}): batch ${RUN_SIZES.batch}, every other symbolic dim ${RUN_SIZES.other}`);
  } else {
    inputs = Object.fromEntries(readSafetensorsFile(inputsPath).tensors);
    bindInputs(model.graph, inputs, inputsPath);
  }

  let outputs: Record<string, HostTensor>;
  let used: string;
  if (backend === 'onnxruntime') {
    const target = onnxTarget(args);
    outputs = await runOnnxRuntime(exportOnnx(model.graph, { weights: model.weights, target }), inputs);
    used = `onnxruntime-node (CPU, ${target} ONNX)`;
  } else {
    const selected = await initBackendInfo(backend);
    log(selected.reason);
    const session = await Session.create(model.graph, { weights: model.weights });
    try {
      outputs = await session.run(inputs);
    } finally {
      session.dispose();
    }
    used = `tfjs ${selected.name}`;
  }
  writeSafetensorsFile(outputPath, new Map(Object.entries(outputs)), { model: name, backend: used });
  const described = Object.entries(outputs).map(([k, t]) => `${k} ${typeToString({ dtype: t.dtype, shape: t.shape })}`);
  return `ran ${name} on ${used}: ${described.join(', ')} -> ${outputPath}`;
}
