import { compile, dumpTo, formatFusions, formatStats } from '@tessera/compiler';
import { printGraph } from '@tessera/graph-dsl';
import { type Args, expectOptions, flag, UsageError } from '../args.ts';
import { loadModel, traceModel } from '../model.ts';

/**
 * `tessera compile MODEL [--config ...] [--dump] [--explain] [--no-fuse]`: the compiled IR and what
 * each pass did; --dump prints the IR before and after every pass; --explain lists each fusion's
 * count and, for every pattern that almost matched, where and why it was refused.
 */
export async function compileCommand(args: Args): Promise<string> {
  expectOptions(args, ['config', 'dump', 'explain', 'no-fuse']);
  const name = args.positional[0];
  if (!name) throw new UsageError('tessera compile needs a MODEL (see tessera list)');
  const model = await loadModel(name, args.options.get('config') ?? []);
  const lines: string[] = [];
  const explain = flag(args, 'explain');
  const result = compile(traceModel(model), {
    ...(flag(args, 'dump') ? { dump: dumpTo((text) => lines.push(text)) } : {}),
    explain,
    fuse: !flag(args, 'no-fuse'),
  });
  if (!flag(args, 'dump') && !explain) lines.push(printGraph(result.graph));
  lines.push('', formatStats(result.stats));
  if (explain) lines.push('', formatFusions(result.stats));
  return lines.join('\n');
}
