import { compile, formatFusions, formatStats } from '@tessera/compiler';
import { type Graph, printGraph } from '@tessera/graph-dsl';
import { type Args, expectOptions, flag, UsageError } from '../args.ts';
import { loadModel, traceModel } from '../model.ts';

/**
 * `tessera compile MODEL [--config ...] [--dump] [--explain] [--no-fuse]`: the compiled IR and what
 * each pass did; --dump prints the IR as traced, then what each pass changed; --explain lists each fusion's
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
    ...(flag(args, 'dump') ? { dump: dumpChanges((text) => lines.push(text)) } : {}),
    explain,
    fuse: !flag(args, 'no-fuse'),
  });
  if (!flag(args, 'dump') && !explain) lines.push(printGraph(result.graph));
  lines.push('', formatStats(result.stats));
  if (explain) lines.push('', formatFusions(result.stats));
  return lines.join('\n');
}

/** The lines of `a` that are not in `b`, counted as a multiset, in `a`'s order. */
function linesMinus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const line of b) left.set(line, (left.get(line) ?? 0) + 1);
  return a.filter((line) => {
    const n = left.get(line) ?? 0;
    if (n > 0) left.set(line, n - 1);
    return n === 0;
  });
}

/**
 * A compile `dump` that prints the IR once, as traced, then after each pass only the lines it
 * removed (-) and added (+): the whole graph before and after every pass repeats it a dozen times.
 */
export function dumpChanges(write: (text: string) => void): (stage: string, graph: Graph) => void {
  let previous: string[] | undefined;
  return (stage, graph) => {
    // a pass's 'before' is the previous pass's 'after': not printed again
    if (previous !== undefined && stage.startsWith('before ')) return;
    const lines = printGraph(graph).split('\n');
    if (previous === undefined) write(`// ----- the IR as traced (${stage}) -----\n${lines.join('\n')}\n`);
    else {
      const [removed, added] = [linesMinus(previous, lines), linesMinus(lines, previous)];
      const changed = [...removed.map((l) => `- ${l}`), ...added.map((l) => `+ ${l}`)];
      write(`// ----- ${stage}: ${changed.length === 0 ? 'no change' : `${removed.length} lines removed, ${added.length} added`} -----${changed.length === 0 ? '' : `\n${changed.join('\n')}`}\n`);
    }
    previous = lines;
  };
}
