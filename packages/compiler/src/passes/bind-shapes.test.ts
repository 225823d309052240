import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { arange, type DimLike, Module, nn, type Tensor, trace, typeToString } from '@tessera/graph-dsl';
import { CompileError } from '../errors.ts';
import { runPasses } from '../pass.ts';
import { structure } from '../testing.ts';
import { bindShapes } from './bind-shapes.ts';

/** Splits heads, adds a position index: dims in Reshape, Range and Expand attributes. */
class Heads extends Module {
  readonly proj = new nn.Linear(8, 8);
  forward(x: Tensor<'float32', 3>) {
    const [b, t] = [x.size(0), x.size(1)];
    const h = this.proj.forward(x).reshape([b, t, 2, 4]).transpose(1, 2);
    const pos = arange(x, t, { dtype: 'float32' }).to('float32').reshape([1, 1, t, 1]).expand([b, 2, t, 4]);
    return h.add(pos);
  }
}

/** A feature map split into 4x4 windows: needs H divisible by 4. */
class Windows extends Module {
  forward(x: Tensor<'float32', 3>) {
    const h = x.size(1);
    return x.reshape([x.size(0), 'H/4', 4, h]); // <- H/4 here
  }
}

const bind = (graph: Parameters<typeof runPasses>[0], b: Record<string, number>) => runPasses(graph, [bindShapes(b)]).graph;

describe('bind-shapes', () => {
  it('gives the graph a model traced with those sizes would have', () => {
    const symbolic = trace(new Heads(), { x: { dtype: 'float32', shape: ['B', 'T', 8] } });
    const concrete = trace(new Heads(), { x: { dtype: 'float32', shape: [2, 5, 8] } });
    expect(structure(bind(symbolic, { B: 2, T: 5 }))).toBe(structure(concrete));
  });

  it('keeps unbound symbols symbolic to the end', () => {
    const shape: DimLike[] = ['B', 'T', 8];
    const symbolic = trace(new Heads(), { x: { dtype: 'float32', shape } });
    const bound = bind(symbolic, { T: 5 });
    expect(structure(bound)).toBe(structure(trace(new Heads(), { x: { dtype: 'float32', shape: ['B', 5, 8] } })));
    expect(typeToString(bound.types.get(bound.outputs[0]!.value)!)).toBe('f32[B, 2, 5, 4]');
    expect(structure(bind(symbolic, {}))).toBe(structure(symbolic));
  });

  it('binds derived dims (H/4 with H=16 is 4)', () => {
    const graph = trace(new Windows(), { x: { dtype: 'float32', shape: ['B', 'H', 'H'] } });
    const out = bind(graph, { H: 16 });
    expect(typeToString(out.types.get(out.outputs[0]!.value)!)).toBe('f32[B, 4, 4, 16]');
  });

  it('refuses a dim that is not whole, naming the op, the dim and the source line', () => {
    const graph = trace(new Windows(), { x: { dtype: 'float32', shape: ['B', 'H', 'H'] } });
    const line = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes('// <- H/4 here')) + 1;
    let error: unknown;
    try {
      bind(graph, { B: 1, H: 14 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CompileError);
    const message = (error as Error).message;
    expect(message).toContain('Reshape: attribute shape[1] is H/4, which is 7/2 for H=14; expected a whole non-negative number');
    expect(message).toContain('operands x: f32[1, 14, 14]');
    expect(message).toMatch(new RegExp(`at .*bind-shapes\\.test\\.ts:${line}:\\d+`));
    expect((error as CompileError).source?.line).toBe(line);
  });

  it('refuses sizes that break what the traced graph assumed', () => {
    class Crop extends Module {
      forward(x: Tensor<'float32', 2>) {
        return x.slice(1, 0, 10);
      }
    }
    const graph = trace(new Crop(), { x: { dtype: 'float32', shape: ['B', 'T'] } });
    expect(typeToString(graph.types.get(graph.outputs[0]!.value)!)).toBe('f32[B, 10]');
    expect(() => bind(graph, { T: 4 })).toThrow(/Slice: with T=4 its shape rule gives \[B, 4\], but the traced graph assumed \[B, 10\]/);
    expect(() => bind(graph, { T: -1 })).toThrow(/T=-1: a size must be a whole non-negative number/);
  });
});
