import { describe, expect, it } from 'vitest';
import { type Graph, Module, type Tensor, trace } from '@tessera/graph-dsl';
import { GraphEditor } from './edit.ts';
import { dumpTo, formatStats, type Pass, runPasses } from './pass.ts';
import { dce } from './passes/dce.ts';
import { evalMode } from './passes/eval-mode.ts';

class Tiny extends Module {
  forward(x: Tensor<'float32', 2>) {
    const unused = x.exp();
    void unused;
    return x.relu();
  }
}

describe('runPasses', () => {
  const graph = trace(new Tiny(), { x: { dtype: 'float32', shape: ['B', 4] } });

  it('runs passes in order and reports nodes before/after and counts', () => {
    const { graph: out, stats } = runPasses(graph, [evalMode(), dce()]);
    expect(out.nodes.map((n) => n.op)).toEqual(['Relu']);
    expect(stats.map((s) => [s.pass, s.nodesBefore, s.nodesAfter])).toEqual([['eval-mode', 2, 2], ['dce', 2, 1]]);
    expect(stats[1]!.counts).toEqual({ removed: 1 });
    expect(formatStats(stats)).toMatch(/dce\s+2 -> 1\s+removed=1/);
  });

  it('dumps the IR before and after each pass', () => {
    const stages: string[] = [];
    let text = '';
    runPasses(graph, [dce()], {
      dump: (stage, g) => {
        stages.push(stage);
        dumpTo((t) => (text += t))(stage, g);
      },
    });
    expect(stages).toEqual(['before dce', 'after dce']);
    expect(text).toContain('// ----- after dce -----\ngraph(%x: f32[B, 4]) {');
    expect(text.match(/= Exp/g)).toHaveLength(1);
  });

  it('catches a pass that breaks the IR, naming it', () => {
    const broken: Pass = {
      name: 'broken',
      run(g: Graph) {
        const editor = new GraphEditor(g, 'broken');
        const [exp, relu] = g.nodes;
        editor.copy(exp!);
        const out = editor.copy(relu!);
        const result = editor.finish();
        // the Relu's output claims a wrong type
        const types = new Map(result.types);
        types.set(out[0]!, { dtype: 'float32', shape: [4] });
        return { ...result, types };
      },
    };
    expect(() => runPasses(graph, [broken])).toThrow(/invalid graph after broken: node 1 \(Relu\) output %\d+ is typed f32\[4\] but its shape rule gives f32\[B, 4\]/);
  });
});
