import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { nn } from '../index.ts';
import type { Tensor } from '../tensor.ts';
import { keysOf, outputShapes, torchKeys } from './testing.ts';

const x = { x: { dtype: 'float32', shape: ['B', 4] } } as const;

describe('nn.Sequential', () => {
  it("numbers its children as torch does (layers without parameters keep their index) and runs them in order", () => {
    const seq = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Dropout(), new nn.Linear(8, 2));
    expect(keysOf(seq)).toEqual(torchKeys('Sequential(Linear(4, 8), ReLU(), Dropout(), Linear(8, 2))'));
    expect(seq.length).toBe(4);
    expect(seq.at(-1)).toBeInstanceOf(nn.Linear);
    expect(outputShapes(seq, x, (t) => seq.forward(t as Tensor<'float32', 2>))).toEqual({ output: ['B', '2'] });
  });

  it("takes a Map as torch's OrderedDict: children under its names, in its order", () => {
    const seq = new nn.Sequential(new Map<string, nn.Linear | nn.GELU>([['fc1', new nn.Linear(4, 8)], ['act', new nn.GELU()], ['fc2', new nn.Linear(8, 2)]]));
    expect(keysOf(seq)).toEqual(torchKeys('Sequential(OrderedDict(fc1=Linear(4, 8), act=GELU(), fc2=Linear(8, 2)))'));
    expect(seq.namedModules().map(([k]) => k)).toEqual(['', 'fc1', 'act', 'fc2']);
    expect(outputShapes(seq, x, (t) => seq.forward(t as Tensor<'float32', 2>))).toEqual({ output: ['B', '2'] });
  });

  it('refuses names that would break a state_dict key or hide a method, as torch does', () => {
    const fc = () => new nn.Linear(4, 4);
    expect(() => new nn.Sequential(new Map([['a.b', fc()]]))).toThrow(new ConfigError("Sequential: 'a.b' is not a module name (it must be non-empty and have no '.')"));
    expect(() => new nn.Sequential(new Map([['', fc()]]))).toThrow(ConfigError);
    expect(() => new nn.Sequential(new Map([['forward', fc()]]))).toThrow(/Sequential: the name 'forward' is taken/);
    expect(() => new nn.Sequential(new nn.Linear(4, 4)).at(1)).toThrow(new ConfigError('Sequential has 1 modules, no module 1'));
  });

  it("reports a layer that does not fit the one before it at the caller's line, naming the layer", () => {
    const seq = new nn.Sequential(new nn.Linear(4, 8), new nn.Linear(7, 2));
    expect(() => outputShapes(seq, x, (t) => seq.forward(t as Tensor<'float32', 2>))).toThrow(/^MatMul: the last dim of a \(8\) must equal the second-to-last dim of b \(7\); operands a: f32\[B, 8\], b: f32\[7, 2\], at .*container\.test\.ts:\d+:\d+ in inner\.1$/);
  });
});

describe('nn.ModuleList', () => {
  it('numbers its modules as torch does and iterates them in order', () => {
    const list = new nn.ModuleList([new nn.Linear(4, 4), new nn.Identity(), new nn.LayerNorm(4)]);
    expect(keysOf(list)).toEqual(torchKeys('ModuleList([Linear(4, 4), Identity(), LayerNorm(4)])'));
    expect([...list].map((m) => m.constructor.name)).toEqual(['Linear', 'Identity', 'LayerNorm']);
    expect(list.length).toBe(3);
    expect(list.at(-1)).toBe([...list][2]);
  });

  it('names the parameters of a model that holds one like a PyTorch state_dict', () => {
    const list = new nn.ModuleList([new nn.Linear(2, 2, false), new nn.Linear(2, 2, false)]);
    expect(new nn.Sequential(new Map([['blocks', new nn.Sequential(...list)]])).namedParameters().map(([k]) => k)).toEqual(['blocks.0.weight', 'blocks.1.weight']);
  });
});
