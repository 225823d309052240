import { describe, expect, it } from 'vitest';
import { arange, type Graph, type HostTensor, initialWeights, Module, OPS, type Tensor, trace } from '@tessera/graph-dsl';
import { encodeModel, exportOnnx, exportOnnxModel, irVersionFor, ONNX_OPS, onnx } from './index.ts';
import { maskedSoftmax, mlpBlock, structural, TEST_MODELS } from './test-models.ts';
import type { OnnxTypes } from './proto.ts';
import { checkOnnx, hasPythonOnnx, maxAbsDiff, randomTensor, randomWeights, runOnnx } from './test-support.ts';

/** The decoded model, its graph typed with the generated classes (arrays present, never null). */
function decode(bytes: Uint8Array): OnnxTypes.ModelProto & { graph: OnnxTypes.GraphProto } {
  return onnx.ModelProto.decode(bytes) as OnnxTypes.ModelProto & { graph: OnnxTypes.GraphProto };
}
const dims = (v: OnnxTypes.IValueInfoProto) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));

describe('exportOnnx', () => {
  it('has a mapping for every IR op, and the test models use every one', () => {
    expect(Object.keys(ONNX_OPS).sort()).toEqual(Object.keys(OPS).sort());
    const used = new Set(Object.values(TEST_MODELS).flatMap((make) => make().nodes.map((n) => n.op)));
    expect([...used].sort()).toEqual(Object.keys(OPS).sort());
  });

  it('gives the same bytes for the same graph and weights, traced twice', () => {
    const a = mlpBlock();
    const b = mlpBlock();
    const weights = randomWeights(a, 1);
    const shuffled = new Map([...weights].reverse());
    const first = exportOnnx(a, { weights });
    expect(Buffer.from(exportOnnx(a, { weights })).equals(first)).toBe(true);
    expect(Buffer.from(exportOnnx(b, { weights: shuffled })).equals(first)).toBe(true);
    for (const make of Object.values(TEST_MODELS)) {
      const g1 = make();
      const w = randomWeights(g1, 2);
      expect(Buffer.from(exportOnnx(make(), { weights: w })).equals(exportOnnx(g1, { weights: w }))).toBe(true);
    }
  });

  it('names initializers by parameter paths, writes dim_param for symbolic dims and the IR version of the opset', () => {
    const graph = structural();
    const model = decode(exportOnnx(graph, { weights: randomWeights(graph, 1), modelName: 'structural', docString: 'test' }));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(model.producerName).toBe('tessera');
    expect(model.docString).toBe('test');
    expect(model.graph.name).toBe('structural');
    expect(model.graph.initializer[0]!.name).toBe('table.weight');
    expect(model.graph.input.map((i) => [i.name, dims(i)])).toEqual([['x', ['B', 4, 6]], ['idx', [3]]]);
    const outputs = Object.fromEntries(model.graph.output.map((o) => [o.name, dims(o)]));
    expect(outputs.stacked).toEqual(['2*B', 4, 6]);
    expect(outputs.broadcast).toEqual([2, 'B', 4, 6]);
    expect(model.graph.node.map((n) => n.opType)).not.toContain('Roll');
    const mlp = decode(exportOnnx(mlpBlock(), { weights: randomWeights(mlpBlock(), 1) }));
    expect(mlp.graph.initializer.slice(0, 6).map((t) => t.name)).toEqual(['norm.weight', 'norm.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(mlp.graph.node.map((n) => n.opType)).not.toContain('Dropout');
    expect(mlp.graph.node.map((n) => n.opType)).toContain('LayerNormalization');
    expect(mlp.graph.node.filter((n) => n.name!.startsWith('fc1/')).map((n) => n.opType)).toEqual(['Transpose', 'MatMul', 'Add']);
    expect([17, 18, 19, 20, 21, 22, 23].map(irVersionFor)).toEqual([8, 8, 9, 9, 10, 10, 11]);
  });

  it('reads each symbol from the graph inputs once, and computes B*T once', () => {
    const model = decode(exportOnnx(maskedSoftmax(), { weights: new Map() }));
    const shapes = model.graph.node.filter((n) => n.opType === 'Shape');
    expect(shapes.map((n) => [n.input![0]!, n.output![0]!]).sort()).toEqual([['scores', 'dim_B'], ['scores', 'dim_S'], ['scores', 'dim_T']]);
    expect(model.graph.node.filter((n) => n.opType === 'Mul').length).toBe(1);
  });

  it('exports at opsets 18 and 23 (axes of ReduceMean/ReduceMax become inputs) with the same results', async () => {
    const graph = structural();
    const weights = randomWeights(graph, 5);
    const x = randomTensor([2, 4, 6], 9);
    const idx = { dtype: 'int32', shape: [3], data: Int32Array.from([1, 4, 0]) } as HostTensor;
    const base = await runOnnx(exportOnnx(graph, { weights }), { x, idx });
    for (const opset of [18, 23]) {
      const bytes = exportOnnx(graph, { weights, opset });
      const model = decode(bytes);
      expect(Number(model.irVersion)).toBe(irVersionFor(opset));
      expect(model.graph.node.find((n) => n.opType === 'ReduceMean')!.input).toHaveLength(2);
      const got = await runOnnx(bytes, { x, idx });
      for (const name of Object.keys(base)) expect(maxAbsDiff(got[name]!.data, base[name]!.data), `${name} at opset ${opset}`).toBe(0);
    }
    const at17 = decode(exportOnnx(graph, { weights }));
    expect(at17.graph.node.find((n) => n.opType === 'ReduceMean')!.input).toHaveLength(1);
  });

  it('passes onnx.checker full check for every test model', () => {
    for (const [name, make] of Object.entries(TEST_MODELS)) {
      const graph = make();
      expect(checkOnnx(exportOnnx(graph, { weights: randomWeights(graph, 1) })), name).toBeUndefined();
    }
  });

  it('has a checker helper that does reject an invalid model', () => {
    const model = exportOnnxModel(mlpBlock(), { weights: randomWeights(mlpBlock(), 1) });
    const broken = { ...model, graph: { ...model.graph, node: [...model.graph!.node!, { opType: 'NoSuchOp', input: ['x'], output: ['y'] }] } };
    const message = checkOnnx(encodeModel(broken));
    if (hasPythonOnnx()) expect(message).toMatch(/NoSuchOp/);
  });

  describe('errors', () => {
    const graph: Graph = mlpBlock();
    const weights = randomWeights(graph, 1);

    it('names a missing weight and its shape', () => {
      const partial = new Map(weights);
      partial.delete('fc1.weight');
      expect(() => exportOnnx(graph, { weights: partial })).toThrow(/1 missing \(fc1\.weight \[16, 8\]\)/);
    });

    it('without weights, writes the initial weights (seeded as a Session seeds them); empty weights name every missing key', () => {
      const expected = initialWeights(graph, 0);
      const initial = decode(exportOnnx(graph, {})).graph.initializer.filter((t) => expected.has(t.name!));
      expect(initial.map((t) => t.name)).toEqual([...expected.keys()]);
      for (const t of initial) expect([...new Float32Array(t.rawData!.slice().buffer)], t.name!).toEqual([...expected.get(t.name!)!.data]);
      expect(Buffer.from(exportOnnx(graph, { seed: 3 })).equals(exportOnnx(graph, { weights: initialWeights(graph, 3) }))).toBe(true);
      expect(() => exportOnnx(graph, { weights: new Map() })).toThrow(/6 missing \(norm\.weight \[8\], norm\.bias \[8\], fc1\.weight \[16, 8\], fc1\.bias \[16\], fc2\.weight \[8, 16\], and 1 more\)/);
      expect(() => exportOnnx(graph, { weights: {} as never })).toThrow(/weights must be a Map from state_dict names to tensors, got \[object Object\]/);
    });

    it('names a weight of the wrong shape with both shapes', () => {
      const wrong = new Map(weights);
      wrong.set('fc2.weight', randomTensor([16, 8], 1));
      expect(() => exportOnnx(graph, { weights: wrong })).toThrow(/1 with the wrong shape or dtype \(fc2\.weight: expected \[8, 16\], got \[16, 8\]\)/);
    });

    it('refuses an opset without LayerNormalization', () => {
      expect(() => exportOnnxModel(graph, { weights, opset: 16 })).toThrow(/opset 16 is not supported/);
    });

    it('says which symbol no input determines, and where the op was written', () => {
      class Positions extends Module {
        forward(x: Tensor<'float32', 1>) {
          return arange(x, 'K');
        }
      }
      const g = trace(new Positions(), { x: { dtype: 'float32', shape: ['B'] } });
      expect(() => exportOnnx(g, { weights: new Map() })).toThrow(/ONNX export of Range node 0 \(at .*export\.test\.ts:\d+:\d+\): .*symbolic dim 'K'.*no graph input/);
    });
  });
});
