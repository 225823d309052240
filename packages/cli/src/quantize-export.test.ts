/**
 * export --quantize dynamic through the CLI: small ViT and Swin configs, the written file checked by
 * onnx.checker and run on ONNX Runtime against the fp32 export, the printed report, the errors; and
 * the accuracy measures on numbers worked by hand.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx, onnx } from '@tessera/compiler';
import { checkOnnxModel, runOnnxRuntime } from '@tessera/compiler/node';
import { hostTensor, randomInputs, seededRandom, symbolSizes } from '@tessera/graph-dsl';
import { CATALOG } from '@tessera/models';
import { writeSafetensorsFile } from '@tessera/safetensors';
import { asArgs } from './catalog-cases.ts';
import { runCli } from './cli-testing.ts';
import { prepareModel } from './model.ts';
import { compareOutputs } from './accuracy.ts';
import { accuracyNote, REPORT_BATCH } from './quantize-export.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-quantize-'));
const at = (name: string) => path.join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...argv: string[]) => runCli(argv, () => {});
const smallConfig = (name: string) => asArgs(CATALOG.find((e) => e.name === name)!.small);

/** The model's initial weights with a random head (torchvision's ViT head starts at zero), written for --weights. */
async function weightsFile(name: string, head: string): Promise<string> {
  const { weights } = await prepareModel(name, smallConfig(name));
  const random = seededRandom(3);
  const w = weights.get(head)!;
  weights.set(head, hostTensor('float32', w.shape, Array.from(w.data, () => (random() - 0.5) * 0.5)));
  const file = at(`${name}.safetensors`);
  writeSafetensorsFile(file, weights);
  return file;
}

/** onnx.checker's verdict; outside CI a machine without python3-onnx skips it (and says so). */
function expectChecked(file: string): void {
  const r = checkOnnxModel(file);
  if (r.ok === undefined && !process.env.CI) return void console.warn(`SKIPPED onnx.checker: ${r.message}`);
  expect(r.ok ? undefined : r.message).toBeUndefined();
}

describe('tessera export --quantize dynamic', () => {
  const cases = [
    { name: 'vit_b_16', head: 'heads.head.weight', target: 'portable', op: 'MatMulInteger', quantized: '9 of 13', kept: '4 products of two activations (attention)', exclude: [] },
    { name: 'swin_t', head: 'head.weight', target: 'onnxruntime', op: 'DynamicQuantizeMatMul', quantized: '17 of 26', kept: '8 products of two activations (attention), 1 excluded (head)', exclude: ['--quantize-exclude', 'head'] },
  ] as const;
  for (const c of cases) {
    it(`${c.name} (${c.target}): writes an int8 model that onnx.checker passes, within 5 % of fp32 on ONNX Runtime, and reports it`, async () => {
      const weights = await weightsFile(c.name, c.head);
      const file = at(`${c.name}.onnx`);
      const { out, error } = await cli('export', c.name, '--config', ...smallConfig(c.name), '--weights', weights, '--onnx', file, '--target', c.target, '--quantize', 'dynamic', ...c.exclude);
      expect(error).toBeUndefined();
      const lines = out!.split('\n');
      expect(lines[1]).toBe(`quantized dynamic: ${c.quantized} matmuls to int8 (weights per output column, activations per tensor at run time); float: ${c.kept}`);
      expect(lines[2]).toBe(`against the fp32 export on ONNX Runtime, seeded random inputs (batch ${REPORT_BATCH}, seed 0):`);
      const reported = /^ {2}logits \[8, 10\]: max abs (\S+), relative (\S+) %, top-1 agreement (\d)\/8$/.exec(lines[3]!);
      expect(reported, lines[3]).not.toBeNull();
      const relative = Number(reported![2]) / 100;
      expect(relative).toBeGreaterThan(1e-4);
      // hidden sizes of 16: one activation scale per tensor costs more than at full size (1 %); a scale off by 2x costs 50 % or more
      expect(relative).toBeLessThan(0.05);
      expect(Number(reported![3])).toBeGreaterThanOrEqual(7);
      expect(lines[4] !== undefined, 'the note is there exactly when the error passes 2 % or a top-1 answer changed').toBe(relative > 0.02 || Number(reported![3]) < 8);

      // the file itself: quantized, valid, and near the fp32 export on other inputs
      const ops = onnx.ModelProto.decode(readFileSync(file)).graph!.node!.map((n) => n.opType);
      expect(ops.filter((o) => o === c.op).length).toBe(Number(c.quantized.split(' ')[0]));
      expectChecked(file);
      const model = await prepareModel(c.name, smallConfig(c.name), weights);
      const inputs = randomInputs(model.graph, symbolSizes(model.graph, { batch: 3, other: 5 }), 9);
      const [ref, got] = [await runOnnxRuntime(exportOnnx(model.graph, { weights: model.weights, target: c.target }), inputs), await runOnnxRuntime(file, inputs)];
      const [accuracy] = compareOutputs(ref, got);
      expect(accuracy!.relative).toBeGreaterThan(1e-4);
      expect(accuracy!.relative).toBeLessThan(0.05);
    });
  }

  it('refuses what it cannot do, before writing anything', async () => {
    const base = ['export', 'vit_b_16', '--config', ...smallConfig('vit_b_16'), '--onnx', at('refused.onnx')];
    expect((await cli(...base, '--quantize', 'static')).error).toMatch(/^--quantize static \(with calibration\) is not implemented yet; --quantize dynamic is$/);
    expect((await cli(...base, '--quantize', 'int4')).error).toBe('--quantize int4: expected dynamic');
    expect((await cli(...base, '--quantize-exclude', 'heads.head')).error).toMatch(/^--quantize-exclude chooses modules .* give --quantize dynamic too$/);
    expect((await cli(...base, '--quantize', 'dynamic', '--quantize-exclude', 'heads.head,')).error).toMatch(/^--quantize-exclude "heads.head,": expected module paths separated by commas/);
    const typo = (await cli(...base, '--quantize', 'dynamic', '--quantize-exclude', 'heads.head,heads.hed')).error;
    expect(typo).toMatch(/^--quantize-exclude heads\.hed: no Linear with a constant weight under this module path; the model's are encoder\.layers\.encoder_layer_0\.self_attention\.in_proj_weight, /);
    expect(typo).toMatch(/\.\.\. \(9 in all\)$/);
    expect((await cli('export', 'masked_softmax', '--onnx', at('refused.onnx'), '--quantize', 'dynamic')).error).toBe('--quantize dynamic: the model has no matmul with a constant weight (no Linear) to quantize');
    expect(existsSync(at('refused.onnx'))).toBe(false);
  });
});

describe('accuracyNote', () => {
  it('notes an output that moved by more than 2 % or changed a top-1 answer, naming the last Linear', () => {
    const at = (relative: number, agree?: number) => ({ name: 'logits', shape: [4, 10], maxAbs: relative, relative, ...(agree === undefined ? {} : { top1: { agree, rows: 4 } }) });
    expect(accuracyNote([at(0.019, 4)], 'heads.head')).toBeUndefined();
    expect(accuracyNote([at(0.021, 4)], 'heads.head')).toBe('note: logits moved by more than 2 % or changed a top-1 answer; --quantize-exclude keeps modules float (the last Linear, often the most sensitive: --quantize-exclude heads.head)');
    expect(accuracyNote([at(0.01, 3)], undefined)).toBe('note: logits moved by more than 2 % or changed a top-1 answer; --quantize-exclude keeps modules float');
  });
});
