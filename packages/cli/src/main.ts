import { createRequire } from 'node:module';
import { summarize } from '@tessera/compiler';
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
import { formatSummary } from './commands/summary.ts';
import { prepareModel } from './model.ts';

/** Each command's usage, printed by `tessera COMMAND --help` (or -h) and `tessera help COMMAND`. */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  list: `  list                                   the model catalog`,
  summary: `  summary MODEL [--config k=v ...] [--weights W.safetensors] [--json]
                                         inputs, outputs, layers with shapes, parameters, FLOPs`,
  compile: `  compile MODEL [--config k=v ...] [--dump] [--explain] [--no-fuse]
                                         the compiled IR and what each pass did; --dump: the IR as traced, then what each pass changed;
                                         --explain: each fusion's count, and why near-matches were refused`,
  export: `  export MODEL --onnx FILE [--target portable|onnx23|onnxruntime] [--opset N] [--config k=v ...] [--weights W.safetensors]
             [--safetensors OUT.safetensors [--weights-dtype float32|float16|int8 [--weights-dtype-exclude MODULE,...]]]
             [--external-data] [--no-fuse] [--quantize dynamic|static [--quantize-exclude MODULE,...]]
             [--calibrate IN.safetensors | --calibrate-images DIR] [--calibration percentile[:P]|minmax] [--explain]
                                         portable: opset 17 standard ops (the default); onnx23: opset 23's Attention;
                                         onnxruntime: ONNX Runtime's com.microsoft fused ops where measured faster;
                                         --quantize dynamic: Linear weights int8 per output column, activations at run time
                                         (MODULE by state_dict path stays float: heads.head), error against fp32 printed;
                                         --quantize static: activation scales calibrated on the inputs given (QDQ);
                                         --explain: each matmul int8 or float, and why;
                                         --safetensors: the weights for tfjs (--onnx optional), float16 or int8 per row (2x, 4x smaller),
                                         error against float32 printed; --weights reads them back as float32`,
  run: `  run MODEL --inputs IN.safetensors|--random-inputs SEED --output OUT.safetensors [--weights W.safetensors]
            [--config k=v ...] [--backend auto|tfjs-node|wasm|cpu|onnxruntime] [--target T] [--no-fuse]
  run MODEL --image IMG.png|jpg [--weights W.safetensors] [--config k=v ...] [--max-pixels 50000000]
                                         classify an image: top-5 (ImageNet labels for 1000 classes)`,
  bench: BENCH_USAGE,
  train: `${TRAIN_USAGE}\n${TRAIN_VISION_USAGE}`,
  translate: TRANSLATE_USAGE,
  help: `  help [COMMAND]                         this text, or one command's usage (also: tessera COMMAND --help)`,
};

const CONFIG_NOTE = `MODEL is a catalog name (tessera list) or a model file (./my_model.ts, .js, .mjs: its default export a Module, its export inputs the inputs' dtype and shape).
Config keys are the PyTorch constructor's argument names; weights are read by state_dict name.`;

const USAGE = `usage: tessera <command>
${Object.values(COMMAND_USAGE).join('\n')}
  --version                              the version of Tessera
${CONFIG_NOTE}`;

/** The usage of one command (the whole usage without one); an unknown command is a UsageError. */
function usageOf(command: string | undefined): string {
  if (command === undefined) return USAGE;
  const usage = COMMAND_USAGE[command];
  if (usage === undefined) throw new UsageError(`unknown command '${command}'\n${USAGE}`);
  return `usage: tessera ${command}\n${usage}${['list', 'help'].includes(command) ? '' : `\n${CONFIG_NOTE}`}`;
}

/** The CLI package's version (its package.json is one directory up from src/ and from dist/). */
export function version(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** Errors that say what the user got wrong; anything else is a bug in Tessera and shows its stack. */
const USER_ERRORS = new Set(['UsageError', 'ConfigError', 'OpError', 'CompileError', 'SafetensorsError', 'WeightsError', 'InputError', 'BackendError', 'FileError', 'CheckpointError', 'TranslationError', 'ImageError', 'ModelFileError']);

export async function main(argv: readonly string[], log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  if (argv[0] === '--version' || argv[0] === '-v') return version();
  // `tessera COMMAND --help` / `-h`: the command's usage, before its options are parsed
  if (argv.includes('--help') || argv.includes('-h')) return usageOf(argv[0]?.startsWith('-') ? undefined : argv[0]);
  const args: Args = parseArgs(argv);
  switch (args.command) {
    case 'list':
      expectOptions(args, []);
      return list();
    case 'summary': {
      expectOptions(args, ['config', 'weights', 'json']);
      const name = args.positional[0];
      if (!name) throw new UsageError('tessera summary needs a MODEL (see tessera list)');
      const summary = summarize(await prepareModel(name, args.options.get('config') ?? [], args.options.get('weights')?.at(-1)));
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
      return USAGE;
    case 'help':
      if (args.positional.length > 1) throw new UsageError(`tessera help takes one COMMAND\n${USAGE}`);
      return usageOf(args.positional[0]);
    default:
      throw new UsageError(`unknown command '${args.command}'\n${USAGE}`);
  }
}

export function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}
