/**
 * Every catalog model, small, exported for every ONNX target: validated by onnx.checker (full
 * check; Debian's onnx 1.12 reads up to IR version 8, so `onnx23`'s check is ONNX Runtime loading
 * and running it), run on ONNX Runtime and on the tfjs runtime at two batch sizes; they must agree.
 */
import { describe, expect, it } from 'vitest';
import { exportOnnx, ONNX_TARGETS } from '@tessera/compiler';
import { checkOnnxModel, onnxCheckerMissing, runOnnxRuntime } from '@tessera/compiler/node';
import { inputSymbols, maxAbsDiff, randomInputs } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { asArgs, CATALOG_CASES } from './catalog-cases.ts';
import { prepareModel } from './model.ts';

describe('every catalog model exports to ONNX that onnx.checker accepts and ONNX Runtime runs like tfjs', () => {
  if (onnxCheckerMissing() && process.env.CI) throw new Error(`onnx.checker is required in CI: ${onnxCheckerMissing()}`);
  for (const { entry, config } of CATALOG_CASES) {
    it(`${entry.name} ${asArgs(config).join(' ')}`, async () => {
      const model = await prepareModel(entry.name, asArgs(config), undefined, 5);
      const files = ONNX_TARGETS.map((target) => ({ target, onnx: exportOnnx(model.graph, { weights: model.weights, target }) }));
      for (const { target, onnx } of files) {
        if (target === 'onnx23') continue;
        const check = checkOnnxModel(onnx);
        if (check.ok !== undefined) expect(check, target).toEqual({ ok: true });
      }
      const symbols = inputSymbols(model.graph);
      const session = await Session.create(model.graph, { weights: model.weights });
      try {
        for (const batch of [1, 3]) {
          const bindings = new Map(symbols.map((s, i) => [s, s === 'B' ? batch : 3 + i]));
          const inputs = randomInputs(model.graph, bindings, batch);
          const tfjs = await session.run(inputs);
          for (const { target, onnx } of files) {
            const ort = await runOnnxRuntime(onnx, inputs);
            expect(Object.keys(ort).sort()).toEqual(Object.keys(tfjs).sort());
            for (const name of Object.keys(tfjs)) expect(maxAbsDiff(tfjs[name]!, ort[name]!), `${target}: ${name}`).toBeLessThanOrEqual(1e-5);
          }
        }
      } finally {
        session.dispose();
      }
    });
  }
});
