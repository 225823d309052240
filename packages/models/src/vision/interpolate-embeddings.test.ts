import { exportOnnx, interpret } from '@tessera/compiler';
import * as tf from '@tensorflow/tfjs-core';
import { F, type HostTensor, hostTensor, Module, Parameter, type Tensor, trace, WeightsError } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { describe, expect, it } from 'vitest';
import { loadStateDict } from '../state-dict.ts';
import { buildModel } from '../index.ts';
import { loadFixture, maxAbsDiff } from '../testing.ts';
import { compileCatalogModel, onnxChecker, runOnnxRuntime, runTfjs } from './testing.ts';
import { interpolateEmbeddings } from './interpolate-embeddings.ts';

interface Call {
  readonly size?: [number, number];
  readonly scale_factor?: [number, number];
  readonly mode: 'bilinear' | 'bicubic';
  readonly align_corners: boolean;
}

/** One F.interpolate per fixture case, each a named output. */
class Cases extends Module {
  constructor(readonly cases: Readonly<Record<string, Call>>) {
    super();
  }
  forward(x: Tensor<'float32', 4>) {
    return Object.fromEntries(
      Object.entries(this.cases).map(([name, c]) => [name, F.interpolate(x, { mode: c.mode, alignCorners: c.align_corners, ...(c.size ? { size: c.size } : { scaleFactor: c.scale_factor! }) })]),
    );
  }
}

describe('F.interpolate against PyTorch (the op interpolate_embeddings uses)', () => {
  const f = loadFixture('interpolate');
  const cases = f.call as Record<string, Call>;
  const x = f.inputs.get('x')!;
  const graph = trace(new Cases(cases), { x: { dtype: 'float32', shape: ['N', 2, 5, 7] } });

  it('bilinear and bicubic, align_corners both ways, up, down and by scale_factor: host, tfjs and ONNX Runtime within 1e-5', async () => {
    expect(Object.keys(cases)).toHaveLength(10);
    const host = interpret(graph, { x });
    const session = await Session.create(graph, {});
    const tfjs = await session.run({ x });
    session.dispose();
    const onnx = exportOnnx(graph, {});
    const checker = onnxChecker(onnx);
    if (checker?.startsWith('skipped')) console.warn(checker);
    else expect(checker).toBeUndefined();
    const ort = await runOnnxRuntime(onnx, { x });
    const worst = { host: 0, tfjs: 0, onnxruntime: 0 };
    for (const name of Object.keys(cases)) {
      const want = f.outputs.get(name)!;
      for (const [where, got] of [['host', host[name]!], ['tfjs', tfjs[name]!], ['onnxruntime', ort[name]!]] as const) {
        expect(got.shape, `${where} ${name}`).toEqual(want.shape);
        expect(maxAbsDiff(got, want), `${where} ${name}`).toBeLessThanOrEqual(1e-5);
        worst[where] = Math.max(worst[where], maxAbsDiff(got, want));
      }
    }
    console.log(`F.interpolate, 10 cases: max |diff| to PyTorch host ${worst.host.toExponential(2)}, tfjs ${worst.tfjs.toExponential(2)}, onnxruntime ${worst.onnxruntime.toExponential(2)}`);
  });

  it("trains on tfjs: one SGD step on an interpolated parameter (a position embedding) moves it by PyTorch's gradient", async () => {
    const name = 'bicubic_up_corners';
    class Embedding extends Module {
      readonly pos = new Parameter<4>([1, 2, 5, 7], { kind: 'constant', value: 0 });
      forward(cotangent: Tensor<'float32', 4>) {
        return F.interpolate(this.pos, { size: cases[name]!.size!, mode: 'bicubic', alignCorners: true }).mul(cotangent).sum([0, 1, 2, 3]);
      }
    }
    const lossGraph = trace(new Embedding(), { cotangent: { dtype: 'float32', shape: [1, 2, 8, 11] } }, ['loss']);
    const session = await Session.create(lossGraph, { weights: new Map([['pos', x]]) });
    session.trainStep({ cotangent: f.inputs.get('cotangent')! }, { loss: 'loss', optimizer: tf.train.sgd(1) });
    const moved = session.getWeights().get('pos')!;
    session.dispose();
    const grad = hostTensor('float32', x.shape, x.data.map((v, i) => v - moved.data[i]!));
    expect(maxAbsDiff(grad, f.outputs.get(`grad_${name}`)!)).toBeLessThanOrEqual(1e-5);
  });
});

describe("interpolate_embeddings: ViT at another image size than it was trained at, as torchvision's", () => {
  const small = loadFixture('vit_small');
  const f = loadFixture('vit_interpolated');
  const config = { ...(f.config as Record<string, number>), batch: 'B' };

  it("gives torchvision's position embedding, and the ViT built at 48 with it torchvision's logits on tfjs and ONNX Runtime", async () => {
    const state = interpolateEmbeddings(48, 8, small.params);
    expect(small.params.get('encoder.pos_embedding')!.shape).toEqual([1, 17, 32]);
    expect(maxAbsDiff(state.get('encoder.pos_embedding')!, f.outputs.get('pos_embedding')!)).toBeLessThanOrEqual(1e-5);
    const compiled = compileCatalogModel('vit_b_16', config, state);
    const image = f.inputs.get('image')!;
    const expected = f.outputs.get('logits')!;
    expect(maxAbsDiff((await runTfjs(compiled, { image })).logits!, expected)).toBeLessThanOrEqual(1e-4);
    const onnx = exportOnnx(compiled.graph, { weights: compiled.weights });
    expect(maxAbsDiff((await runOnnxRuntime(onnx, { image })).logits!, expected)).toBeLessThanOrEqual(1e-4);
  });

  it('loads through loadStateDict into a model of another image_size, saying that it interpolated', () => {
    const { built } = buildModel('vit_b_16', { ...config, image_size: 48 });
    const { weights, notes } = loadStateDict(built.module, small.params, 'vit_small');
    expect(notes).toEqual(["encoder.pos_embedding interpolated from 4x4 patches (image 32) to 6x6 (image 48), bicubic with align_corners as torchvision's interpolate_embeddings"]);
    expect(maxAbsDiff(weights.get('encoder.pos_embedding')!, f.outputs.get('pos_embedding')!)).toBeLessThanOrEqual(1e-5);
    const same = buildModel('vit_b_16', { ...config, image_size: 32 });
    expect(loadStateDict(same.built.module, small.params).notes).toEqual([]);
  });

  it("keeps the class token and the given state_dict, drops the heads with reset_heads, and refuses what torchvision refuses", () => {
    const state = interpolateEmbeddings(48, 8, small.params, 'bicubic', true);
    expect([...state.keys()].some((k) => k.startsWith('heads'))).toBe(false);
    expect(small.params.has('heads.head.weight')).toBe(true);
    const before = small.params.get('encoder.pos_embedding')!;
    expect(Array.from(state.get('encoder.pos_embedding')!.data.subarray(0, 32))).toEqual(Array.from(before.data.subarray(0, 32)));
    expect(interpolateEmbeddings(32, 8, small.params).get('encoder.pos_embedding')).toBe(before);
    const odd = new Map([['encoder.pos_embedding', hostTensor('float32', [1, 6, 4])]]);
    expect(() => interpolateEmbeddings(48, 8, odd)).toThrow(WeightsError);
    expect(() => interpolateEmbeddings(48, 8, odd)).toThrow('interpolate_embeddings: encoder.pos_embedding has 5 patch positions, not a square grid');
    expect(() => interpolateEmbeddings(48, 8, new Map([['encoder.pos_embedding', hostTensor('float32', [2, 5, 4])]]))).toThrow(/unexpected position embedding shape \[2, 5, 4\]/);
    expect(() => interpolateEmbeddings(48, 8, new Map<string, HostTensor>())).toThrow(/the state_dict has no encoder.pos_embedding/);
  });
});
