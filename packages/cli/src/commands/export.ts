import { exportOnnxFiles } from '@tessera/compiler/node';
import { type Args, expectOptions, flag, option, requireOption, UsageError } from '../args.ts';
import { formatQuantizeDecisions, SUPPORTED_OPSETS } from '@tessera/compiler';
import { calibrationInputs } from '../calibration.ts';
import { isModelFile } from '../model-file.ts';
import { exportQuantized, quantizeRequest } from '../quantize-export.ts';
import { exportWeights, weightsRequest } from '../weights-export.ts';
import { checkOutputs } from '@tessera/graph-dsl/node';
import { prepareModel } from '../model.ts';
import { onnxTarget } from '../onnx-target.ts';

/** Without --external-data the export decides, as torch.onnx does: external data past ~1.8 GiB (vit_h_14); `false` would refuse such a model. */
export function externalDataOption(args: Args): { externalData?: true } {
  return flag(args, 'external-data') ? { externalData: true } : {};
}

export async function exportCommand(args: Args): Promise<string> {
  expectOptions(args, ['onnx', 'opset', 'config', 'weights', 'external-data', 'no-fuse', 'target', 'quantize', 'quantize-exclude', 'calibrate', 'calibrate-images', 'calibration', 'explain', 'safetensors', 'weights-dtype', 'weights-dtype-exclude']);
  const name = args.positional[0];
  if (!name) throw new UsageError('tessera export needs a MODEL (see tessera list)');
  const weightsOut = weightsRequest(args);
  // --safetensors alone writes only the weights
  const path = weightsOut && option(args, 'onnx') === undefined ? undefined : requireOption(args, 'onnx', 'FILE.onnx (or --safetensors FILE.safetensors)');
  const target = onnxTarget(args);
  const opsetText = option(args, 'opset') ?? (target === 'onnx23' ? '23' : '17');
  const opset = Number(opsetText);
  if (!SUPPORTED_OPSETS.includes(opset)) throw new UsageError(`--opset ${opsetText}: Tessera exports opsets ${SUPPORTED_OPSETS[0]} to ${SUPPORTED_OPSETS.at(-1)}`);
  if (target === 'onnx23' && opset < 23) throw new UsageError(`--opset ${opsetText}: --target onnx23 writes opset 23's Attention`);
  const quantize = quantizeRequest(args);
  if (flag(args, 'explain') && !quantize) throw new UsageError('export --explain lists what --quantize decided for each matmul; give --quantize dynamic or static (the fusions: tessera compile MODEL --explain)');
  if (path === undefined && quantize) throw new UsageError('--quantize writes an ONNX model; give --onnx FILE.onnx too (--safetensors writes the weights for tfjs)');
  checkOutputs({ '--onnx': path, '--onnx (its external data)': path && `${path}.data` }, { '--weights': option(args, 'weights'), '--calibrate': option(args, 'calibrate') });
  checkOutputs({ '--safetensors': weightsOut?.path }, { '--weights': option(args, 'weights'), '--onnx': path });
  const given = { name, config: args.options.get('config') ?? [], options: { fuse: !flag(args, 'no-fuse') } };
  const model = await prepareModel(given.name, given.config, option(args, 'weights'), 0, given.options);
  const weightsReport = weightsOut && (await exportWeights(model, weightsOut, given));
  if (path === undefined) return weightsReport!;
  const options = { weights: model.weights, path, opset, target, ...externalDataOption(args) };
  const calibration = quantize?.mode === 'static' ? calibrationInputs(quantize.source, model.graph, name, !isModelFile(name)) : undefined;
  const quantized = quantize && (await exportQuantized(model.graph, options, quantize, calibration));
  const written = quantized ? quantized.files : await exportOnnxFiles(model.graph, options);
  const inputs = model.graph.inputs.map((i) => i.name).join(', ');
  const external = written.dataPath && !flag(args, 'external-data') ? `; the weights (${(written.externalBytes / 2 ** 30).toFixed(2)} GiB) pass what one ONNX file holds (2 GiB), so they are in ${written.dataPath} as external data, as torch.onnx writes them: keep the two files together` : '';
  const wrote = `wrote ${[written.modelPath, written.dataPath].filter(Boolean).join(' and ')} (${model.name}, ${target} target, opset ${opset}, inputs ${inputs}; weights ${model.weightsSource}${external})`;
  const explained = quantized && flag(args, 'explain') ? formatQuantizeDecisions(quantized.decisions, quantize.mode) : undefined;
  return [wrote, quantized?.report, explained, weightsReport].filter(Boolean).join('\n');
}
