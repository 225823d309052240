import { compile } from '@tessera/compiler';
import { printGraph } from '@tessera/graph-dsl';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-testing.ts';
import { loadModel, traceModel } from '../model.ts';

const sorted = (lines: readonly string[]) => [...lines].sort();

describe('tessera compile --dump', () => {
  it('prints the traced IR once, then what each pass changed: applying the changes gives the compiled IR', async () => {
    const config = ['embed_dim=8', 'num_heads=2'];
    const dumped = (await runCli(['compile', 'torch_multihead_attention', '--config', ...config, '--dump'])).out!;
    expect(dumped.match(/^graph\(/gm)).toHaveLength(1);
    const sections = dumped.split(/^\/\/ ----- /m).slice(1);
    expect(sections[0]).toMatch(/^the IR as traced \(before bind-shapes\) -----\n/);
    const model = await loadModel('torch_multihead_attention', config);
    const traced = traceModel(model);
    const result = compile(traced);
    // one section a pass after the first: its changes, or 'no change'
    expect(sections.slice(1).map((s) => /^after ([\w-]+): /.exec(s)?.[1])).toEqual(result.stats.map((s) => s.pass));
    expect(sections.some((s) => /^after [\w-]+: no change -----\n/.test(s))).toBe(true);
    let lines = printGraph(traced).split('\n');
    for (const section of sections.slice(1)) {
      const body = section.split('\n').slice(1);
      for (const line of body.filter((l) => l.startsWith('- '))) lines.splice(lines.indexOf(line.slice(2)), 1);
      lines = [...lines, ...body.filter((l) => l.startsWith('+ ')).map((l) => l.slice(2))];
    }
    expect(sorted(lines)).toEqual(sorted(printGraph(result.graph).split('\n')));
  });
});
