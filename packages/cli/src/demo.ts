/**
 * The main job, end to end: compile a catalog model, run it on TensorFlow.js, export it to
 * ONNX, check the file with onnx.checker when Python's onnx is there, run it on ONNX Runtime,
 * and compare. Exits non-zero when the two runtimes disagree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportOnnx } from '@tessera/compiler';
import { checkOnnxModel, runOnnxRuntime } from '@tessera/compiler/node';
import { maxAbsDiff, printGraph, randomInputs, typeToString } from '@tessera/graph-dsl';
import { initBackendInfo, Session } from '@tessera/runtime-tfjs';
import { prepareModel } from './model.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const MODEL = 'torch_multihead_attention';
const CONFIG = ['embed_dim=64', 'num_heads=4', 'batch_first=true', 'key_padding_mask=bool', 'attn_mask=float'];
const TOLERANCE = 1e-5;

const model = await prepareModel(MODEL, CONFIG);
say(`1. compiled ${MODEL} (${CONFIG.join(' ')}): ${model.traced.nodes.length} nodes traced, ${model.graph.nodes.length} after the passes`);
say(`   inputs ${model.graph.inputs.map((i) => `${i.name}: ${typeToString(model.graph.types.get(i.value)!)}`).join(', ')}`);
if (process.argv.includes('--dump')) say(printGraph(model.graph));

const bindings = new Map([['B', 3], ['L', 5], ['S', 7]]);
const inputs = randomInputs(model.graph, bindings, 1);
const { name: backend, reason } = await initBackendInfo('auto');
say(`   ${reason}`);
const session = await Session.create(model.graph, { weights: model.weights });
const tfjsOut = await session.run(inputs);
session.dispose();
say(`2. ran on tfjs (${backend}): ${Object.entries(tfjsOut).map(([k, t]) => `${k} [${t.shape.join(', ')}]`).join(', ')}`);

const onnx = exportOnnx(model.graph, { weights: model.weights });
const outDir = path.resolve('out');
mkdirSync(outDir, { recursive: true });
const onnxPath = path.join(outDir, `${MODEL}.onnx`);
writeFileSync(onnxPath, onnx);
say(`3. exported ONNX opset 17 to ${path.relative(process.cwd(), onnxPath)} (${onnx.length} bytes, batch and lengths as dim_param)`);

const check = checkOnnxModel(onnxPath);
if (check.ok === false) throw new Error(`onnx.checker rejected ${onnxPath}: ${check.message}`);
say(check.ok ? '4. onnx.checker.check_model(full_check=True): ok' : `4. onnx.checker: not run, ${check.message}`);

const ortOut = await runOnnxRuntime(onnx, inputs);
let worst = 0;
for (const [name, t] of Object.entries(tfjsOut)) {
  const diff = maxAbsDiff(t, ortOut[name]!);
  worst = Math.max(worst, diff);
  say(`5. onnxruntime-node vs tfjs, ${name}: max abs diff ${diff.toExponential(2)}`);
}
if (!(worst <= TOLERANCE)) {
  say(`FAILED: the runtimes differ by ${worst} (> ${TOLERANCE})`);
  process.exitCode = 1;
} else say(`ok: ONNX Runtime agrees with TensorFlow.js within ${TOLERANCE}`);
