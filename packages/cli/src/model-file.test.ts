/**
 * A model of the user's own, from a file in a bare temp folder (no package.json, no node_modules),
 * through the repository's bin as a user runs it: the module hooks and tsx are the real ones. The
 * packed CLI does the same in test/packaging.test.ts.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOnnxModel } from '@tessera/compiler/node';
import { type HostTensor, hostTensor, seededRandom } from '@tessera/graph-dsl';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess } from './cli-testing.ts';
import { checkInputs } from '@tessera/models';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../bin/tessera.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-model-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => writeFileSync(path.join(dir, name), text);

/** The bin in the temp folder: exit code, stdout and stderr. */
function tessera(...argv: string[]) {
  return runProcess(process.execPath, [BIN, ...argv], { cwd: dir });
}

// a pre-norm residual block: y = x + fc(norm(x)), its width from --config
write(
  'block.ts',
  `import { Module, nn, type Tensor } from '@tessera/graph-dsl';

export const config = { embed_dim: 16 };

class Block extends Module {
  readonly norm: nn.LayerNorm;
  readonly fc: nn.Linear;
  constructor(embed: number) {
    super();
    this.norm = new nn.LayerNorm(embed);
    this.fc = new nn.Linear(embed, embed);
  }
  forward(x: Tensor<'float32', 3>) {
    return x.add(this.fc.forward(this.norm.forward(x)));
  }
}

export default (c: typeof config) => new Block(c.embed_dim);
export const inputs = (c: typeof config) => ({ x: { dtype: 'float32', shape: ['B', 'T', c.embed_dim] } });
export const outputs = ['y'];
`,
);
write(
  'shape_error.ts',
  `import { Module, nn, type Tensor } from '@tessera/graph-dsl';
class Head extends Module {
  readonly fc = new nn.Linear(32, 8);
  forward(x: Tensor<'float32', 2>) {
    return this.fc.forward(x);
  }
}
export default Head;
export const inputs = { x: { dtype: 'float32', shape: ['B', 64] } };
`,
);
write(
  'no_method.mjs',
  `import { Module } from '@tessera/graph-dsl';
class M extends Module {
  forward(x) {
    return x.frobnicate(0);
  }
}
export default new M();
export const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };
`,
);
write(
  'mlp.js',
  `import { Module, nn } from '@tessera/graph-dsl';
class Mlp extends Module {
  constructor() {
    super();
    this.fc1 = new nn.Linear(4, 8);
    this.fc2 = new nn.Linear(8, 2);
  }
  forward(x) {
    return this.fc2.forward(this.fc1.forward(x).relu());
  }
}
export default Mlp;
export const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };
`,
);
write(
  'called.ts',
  `import { Module, nn, type Tensor } from '@tessera/graph-dsl';
export default class extends Module {
  readonly fc = new nn.Linear(4, 4);
  forward(x: Tensor<'float32', 2>) {
    return (this.fc as unknown as (x: Tensor) => Tensor)(x);
  }
}
export const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };
`,
);
write('no_return.mjs', `import { Module } from '@tessera/graph-dsl';\nexport default class extends Module { forward(x) { x.relu(); } }\nexport const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };\n`);
write('no_default.ts', `export const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };\n`);
write('not_module.js', `export default { forward: (x) => x };\nexport const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };\n`);
write('no_inputs.mjs', `import { Module } from '@tessera/graph-dsl';\nexport default class extends Module { forward(x) { return x; } }\n`);
write('bad_dtype.mjs', `import { Module } from '@tessera/graph-dsl';\nexport default class extends Module { forward(x) { return x; } }\nexport const inputs = { x: { dtype: 'float64', shape: ['B', 4] } };\n`);
write('syntax.ts', `export default class {{\n`);
write('bad_heads.ts', `import { nn } from '@tessera/graph-dsl';\nexport default () =>\n  new nn.MultiheadAttention(64, 5);\nexport const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };\n`);
// a bug in the user's own inputs function: their line, not Tessera's
write('bad_inputs.mjs', `import { Module } from '@tessera/graph-dsl';\nexport default class extends Module { forward(x) { return x; } }\nexport const inputs = (config) =>\n  ({ x: { dtype: 'float32', shape: config.sizes.map((d) => d) } });\n`);
write('bad_heads_top.mjs', `import { nn } from '@tessera/graph-dsl';\nexport const inputs = { x: { dtype: 'float32', shape: ['B', 4] } };\nexport default new nn.MultiheadAttention(64, 5);\n`);

const E = 8;
function randomTensor(shape: number[], seed: number): HostTensor<'float32'> {
  const random = seededRandom(seed);
  return hostTensor('float32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1));
}

/** y = x + W LayerNorm(x) + b over the last dim, in plain JavaScript. */
function reference(x: HostTensor, w: ReadonlyMap<string, HostTensor>): number[] {
  const [gamma, beta, W, b] = ['norm.weight', 'norm.bias', 'fc.weight', 'fc.bias'].map((k) => w.get(k)!.data);
  const out: number[] = [];
  for (let r = 0; r < x.data.length / E; r++) {
    const row = Array.from(x.data.slice(r * E, (r + 1) * E));
    const mean = row.reduce((a, v) => a + v, 0) / E;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / E;
    const normed = row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma![i]! + beta![i]!);
    for (let o = 0; o < E; o++) out.push(row[o]! + b![o]! + normed.reduce((a, v, i) => a + W![o * E + i]! * v, 0));
  }
  return out;
}

describe('a model file in a bare folder, through the bin', () => {
  it('summary, compile, export (onnx.checker), run with --weights (against a plain-JS reference) and without, bench', async () => {
    const weights = new Map<string, HostTensor>([
      ['norm.weight', randomTensor([E], 1)],
      ['norm.bias', randomTensor([E], 2)],
      ['fc.weight', randomTensor([E, E], 3)],
      ['fc.bias', randomTensor([E], 4)],
    ]);
    const x = randomTensor([2, 3, E], 5);
    writeSafetensorsFile(path.join(dir, 'w.safetensors'), weights);
    writeSafetensorsFile(path.join(dir, 'in.safetensors'), new Map([['x', x]]));
    const config = ['--config', `embed_dim=${E}`];
    const [summary, compiled, exported, ran, initial, bench, plainJs] = await Promise.all([
      tessera('summary', './block.ts', ...config, '--json'),
      tessera('compile', 'block.ts', ...config),
      tessera('export', './block.ts', ...config, '--onnx', 'block.onnx'),
      tessera('run', './block.ts', ...config, '--weights', 'w.safetensors', '--inputs', 'in.safetensors', '--output', 'out.safetensors', '--backend', 'cpu'),
      tessera('run', './block.ts', ...config, '--inputs', 'in.safetensors', '--output', 'initial.safetensors', '--backend', 'cpu'),
      tessera('bench', './block.ts', ...config, '--runs', '1', '--backend', 'cpu', '--json'),
      tessera('summary', './mlp.js', '--json'),
    ]);
    for (const r of [summary, compiled, exported, ran, initial, bench, plainJs]) {
      expect(r.stderr).not.toMatch(/error/);
      expect(r.status).toBe(0);
    }
    const s = JSON.parse(summary.stdout) as { model: string; config: Record<string, unknown>; inputs: Record<string, string>; outputs: Record<string, string>; parameters: number; layers: { path: string; type: string }[] };
    expect(s.model).toBe('./block.ts');
    expect(s.config).toEqual({ embed_dim: E });
    expect(s.inputs).toEqual({ x: `f32[B, T, ${E}]` });
    expect(s.outputs).toEqual({ y: `f32[B, T, ${E}]` });
    expect(s.parameters).toBe(E * E + 3 * E);
    expect(s.layers.map((l) => `${l.path}:${l.type}`)).toEqual([':Block', 'norm:LayerNorm', 'fc:Linear']);
    expect(compiled.stdout).toMatch(/Linear/);
    expect(exported.stdout).toMatch(/^wrote .*block\.onnx \(\.\/block\.ts, portable target, opset 17, inputs x; weights initial \(seed 0\)\)/);
    const check = checkOnnxModel(path.join(dir, 'block.onnx'));
    if (check.ok !== undefined) expect(check).toEqual({ ok: true });
    expect(ran.stderr).not.toMatch(/no --weights/);
    const y = readSafetensorsFile(path.join(dir, 'out.safetensors')).tensors.get('y')!;
    expect(y.shape).toEqual([2, 3, E]);
    const expected = reference(x, weights);
    expect(Math.max(...Array.from(y.data, (v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
    expect(initial.stderr).toMatch(/no --weights: \.\/block\.ts runs on its initial \(seed 0\) weights, not trained ones/);
    expect(readSafetensorsFile(path.join(dir, 'initial.safetensors')).tensors.get('y')!.shape).toEqual([2, 3, E]);
    expect(JSON.parse(bench.stdout)).toMatchObject({ model: './block.ts', backend: 'cpu', batch: 1, runs: 1 });
    // plain JavaScript in a folder without package.json loads as an ES module too
    expect(JSON.parse(plainJs.stdout)).toMatchObject({ model: './mlp.js', outputs: { output: 'f32[B, 2]' }, parameters: 4 * 8 + 8 + 8 * 2 + 2 });
  }, 120_000);

  it('says what is wrong with a file, as a user error: a shape error at the user\'s line, a method the DSL lacks, missing or wrong exports', async () => {
    const cases: [string[], RegExp][] = [
      [['summary', './shape_error.ts'], /^error: MatMul: the last dim of a \(64\) must equal the second-to-last dim of b \(32\); .* at shape_error\.ts:5:20 in fc\n$/],
      [['compile', './no_method.mjs'], /^error: \.\/no_method\.mjs:4:14: TypeError: x\.frobnicate is not a function \(while tracing forward; a module runs as m\.forward\(x\), and graph-dsl's README lists each PyTorch name's Tessera name\)\n$/],
      [['summary', './called.ts'], /^error: \.\/called\.ts:5:\d+: TypeError: this\.fc is not a function \(while tracing forward; a module runs as m\.forward\(x\)/],
      [['summary', './no_return.mjs'], /^error: trace: forward returned undefined, not a Tensor: .*\(is a return missing\?\)\n$/],
      [['export', './no_default.ts', '--onnx', 'x.onnx'], /^error: \.\/no_default\.ts has no default export: export default a Module \(an instance, its class, or a function returning one\)\n$/],
      [['summary', './not_module.js'], /^error: \.\/not_module\.js: the default export is an object \(forward\), not a Module with a forward method/],
      [['summary', './no_inputs.mjs'], /^error: \.\/no_inputs\.mjs: has no `inputs` export naming the inputs of forward; write it like export const inputs = \{ x: \{ dtype: 'float32', shape: \['B', 'T', 64\] \} \}\n$/],
      [['summary', './bad_dtype.mjs'], /^error: \.\/bad_dtype\.mjs: inputs\.x\.dtype must be one of float32, int32, bool, got string float64/],
      [['summary', './syntax.ts'], /^error: \.\/syntax\.ts could not be loaded: /],
      [['summary', './bad_heads.ts'], /^error: \.\/bad_heads\.ts:3:3: ConfigError: MultiheadAttention: .*\(while building the model\)\n$/],
      [['summary', './bad_inputs.mjs'], /^error: \.\/bad_inputs\.mjs:4:\d+: TypeError: .*\(while computing its inputs\)\n$/],
      [['summary', './bad_heads_top.mjs'], /^error: \.\/bad_heads_top\.mjs could not be loaded: MultiheadAttention: .* \(at \.\/bad_heads_top\.mjs:3:16\)\n$/],
      [['summary', './missing.ts'], /^error: \.\/missing\.ts: no such model file \(a MODEL is a catalog name, see tessera list, or a \.ts\/\.js\/\.mjs file\)\n$/],
      [['summary', './shape_error.ts', '--config', 'embed_dim=4'], /^error: \.\/shape_error\.ts takes no --config \(embed_dim=4\): to take some, export const config/],
      [['run', './block.ts', '--image', 'cat.png'], /^error: tessera run --image classifies with a catalog vision model \(its preprocessing is torchvision's\); give \.\/block\.ts its input with --inputs\n$/],
      [['summary', './block.ts', '--config', 'width=4'], /^error: model '\.\/block\.ts' has no config key 'width'; its keys are: embed_dim\n$/],
    ];
    // four at a time: the machine is small and shared
    const results: Awaited<ReturnType<typeof tessera>>[] = [];
    for (let i = 0; i < cases.length; i += 4) results.push(...(await Promise.all(cases.slice(i, i + 4).map(([argv]) => tessera(...argv)))));
    cases.forEach(([argv, message], i) => {
      expect(results[i]!.stderr, argv.join(' ')).toMatch(message);
      expect(results[i]!.status, argv.join(' ')).toBe(1);
    });
    expect(existsSync(path.join(dir, 'x.onnx'))).toBe(false);
  }, 120_000);
});

describe('checkInputs', () => {
  it('takes names to { dtype, shape } with whole numbers and symbol expressions', () => {
    const inputs = { x: { dtype: 'float32', shape: ['B', 'T+1', 64] }, ids: { dtype: 'int32', shape: ['B', 0] } };
    expect(checkInputs('m.ts', inputs)).toBe(inputs);
  });

  it('names the entry and the dim that is wrong', () => {
    expect(() => checkInputs('m.ts', [])).toThrow(/^m\.ts: `inputs` must map each input name to \{ dtype, shape \}, got an array; write it like/);
    expect(() => checkInputs('m.ts', {})).toThrow(/got an object \(no keys\)/);
    expect(() => checkInputs('m.ts', { x: 'float32' })).toThrow(/^m\.ts: inputs\.x must be \{ dtype, shape \}, got string float32/);
    expect(() => checkInputs('m.ts', { x: { dtype: 'float32', shape: 'B' } })).toThrow(/inputs\.x\.shape must be an array of dims, got string B/);
    expect(() => checkInputs('m.ts', { x: { dtype: 'float32', shape: ['B', 1.5] } })).toThrow(/inputs\.x\.shape\[1\] must be a whole number or a symbol like 'B' or 'T\+1', got number 1\.5/);
    expect(() => checkInputs('m.ts', { x: { dtype: 'float32', shape: ['B', '2*'] } })).toThrow(/inputs\.x\.shape\[1\] must be a whole number or a symbol like 'B' or 'T\+1', got string 2\* \(/);
    expect(() => checkInputs('m.ts', { x: { dtype: 'float32', shape: [null] } })).toThrow(/inputs\.x\.shape\[0\] .* got null/);
  });
});
