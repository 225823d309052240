import { type Args, expectOptions, flag, parseArgs, UsageError } from './args.ts';
import { BENCH_USAGE, benchCommand } from './commands/bench.ts';
import { compileCommand } from './commands/compile.ts';
import { exportCommand } from './commands/export.ts';
import { list } from './commands/list.ts';
import { runCommand } from './commands/run.ts';
import { TRAIN_USAGE, trainCommand } from './commands/train.ts';
import { TRAIN_VISION_USAGE, trainVisionCommand } from './commands/train-vision.ts';
import { TRANSLATE_USAGE, translateCommand } from './commands/translate.ts';
import { imageCommand } from './commands/image.ts';
import { formatSummary, summarize } from './commands/summary.ts';
import { prepareModel } from './model.ts';

const USAGE = `usage: tessera <command>
  list                                   the model catalog
  summary MODEL [--config k=v ...] [--weights W.safetensors] [--json]
                                         inputs, outputs, layers with shapes, parameters, FLOPs
  compile MODEL [--config k=v ...] [--dump] [--explain] [--no-fuse]
                                         the compiled IR and what each pass did; --dump: the IR before and after every pass;
                                         --explain: each fusion's count, and why near-matches were refused
  export MODEL --onnx FILE [--opset N] [--config k=v ...] [--weights W.safetensors] [--external-data] [--no-fuse]
  run MODEL --inputs IN.safetensors --output OUT.safetensors [--weights W.safetensors]
            [--config k=v ...] [--backend auto|tfjs-node|wasm|cpu|onnxruntime] [--no-fuse]
  run MODEL --image IMG.png|jpg [--weights W.safetensors] [--config k=v ...]
                                         classify an image: top-5 (ImageNet labels for 1000 classes)
${BENCH_USAGE}
${TRAIN_USAGE}
${TRAIN_VISION_USAGE}
${TRANSLATE_USAGE}
Config keys are the PyTorch constructor's argument names; weights are read by state_dict name.`;

/** Errors that say what the user got wrong; anything else is a bug in Tessera and shows its stack. */
const USER_ERRORS = new Set(['UsageError', 'ConfigError', 'OpError', 'CompileError', 'SafetensorsError', 'WeightsError', 'InputError', 'BackendError', 'FileError', 'CheckpointError', 'TranslationError', 'ImageError']);

export async function main(argv: readonly string[], log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const args: Args = parseArgs(argv);
  switch (args.command) {
    case 'list':
      expectOptions(args, []);
      return list();
    case 'summary': {
      expectOptions(args, ['config', 'weights', 'json']);
      const name = args.positional[0];
      if (!name) throw new UsageError('tessera summary needs a MODEL (see tessera list)');
      const summary = summarize(prepareModel(name, args.options.get('config') ?? [], args.options.get('weights')?.at(-1)));
      return flag(args, 'json') ? JSON.stringify(summary, null, 2) : formatSummary(summary);
    }
    case 'compile':
      return compileCommand(args);
    case 'export':
      return exportCommand(args);
    case 'run':
      return args.options.has('image') ? imageCommand(args, log) : runCommand(args, log);
    case 'bench':
      return benchCommand(args, log);
    case 'train':
      return args.positional[0] === 'vit' || args.positional[0] === 'swin_t' ? trainVisionCommand(args, log) : trainCommand(args, log);
    case 'translate':
      return translateCommand(args, log);
    case undefined:
    case 'help':
      return USAGE;
    default:
      throw new UsageError(`unknown command '${args.command}'\n${USAGE}`);
  }
}

export function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}
