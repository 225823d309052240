import { compile, dumpTo, formatStats } from '@tessera/compiler';
import { printGraph, trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { type Args, expectOptions, flag, UsageError } from '../args.ts';

/** `tessera compile MODEL [--config ...] [--dump]`: the compiled IR and what each pass did; --dump prints the IR before and after every pass. */
export function compileCommand(args: Args): string {
  expectOptions(args, ['config', 'dump']);
  const name = args.positional[0];
  if (!name) throw new UsageError('tessera compile needs a MODEL (see tessera list)');
  const { built } = buildModel(name, args.options.get('config') ?? []);
  const lines: string[] = [];
  const result = compile(trace(built.module, built.inputs, built.outputs), flag(args, 'dump') ? { dump: dumpTo((text) => lines.push(text)) } : {});
  if (!flag(args, 'dump')) lines.push(printGraph(result.graph));
  lines.push('', formatStats(result.stats));
  return lines.join('\n');
}
