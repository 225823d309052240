/**
 * The common path in code, on the block of block.ts: initial weights, trace, compile, run on
 * TensorFlow.js, export ONNX, check it with onnx.checker, run it on ONNX Runtime and compare.
 *
 *     npx tsx examples/prenorm-block/main.ts [OUT.onnx]
 */
import { writeFileSync } from 'node:fs';
import { compile, exportOnnx } from '@tessera/compiler';
import { checkOnnxModel, runOnnxRuntime } from '@tessera/compiler/node';
import { hostTensor, maxAbsDiff, seededRandom, trace } from '@tessera/graph-dsl';
import { initBackend, Session } from '@tessera/runtime-tfjs';
import block, { EMBED_DIM, inputs } from './block.ts';

const out = process.argv[2] ?? 'prenorm-block.onnx';

// 1. The weights by state_dict name: here the module's initial ones (PyTorch's initializers, from a
//    seed). Trained weights load from a safetensors file instead: readSafetensorsFile(path).tensors.
const weights = block.stateDict(0);

// 2. Trace: forward runs once on symbolic inputs; a shape error stops here, at the line that made it.
const traced = trace(block, inputs);

// 3. Compile: folding, CSE and the fusions (Linear, Attention, AddLayerNorm, Gelu, ...).
const { graph } = compile(traced, { weights });
console.log(`traced ${traced.nodes.length} nodes, ${graph.nodes.length} after compile; ${weights.size} parameters`);

// 4. Run on TensorFlow.js: 'auto' takes tfjs-node when installed, else wasm, else the plain-JS cpu backend.
const backend = await initBackend('auto');
const random = seededRandom(1);
const x = hostTensor('float32', [2, 10, EMBED_DIM], Array.from({ length: 2 * 10 * EMBED_DIM }, () => random() * 2 - 1));
const session = await Session.create(graph, { weights });
const tfjs = (await session.run({ x })).output!;
session.dispose();
console.log(`tfjs (${backend}): output [${tfjs.shape.join(', ')}]`);

// 5. Export ONNX (opset 17, B and T as dim_param) and check it.
const onnx = exportOnnx(graph, { weights });
writeFileSync(out, onnx);
const check = checkOnnxModel(onnx);
console.log(`wrote ${out} (${onnx.length} bytes); onnx.checker: ${check.ok === undefined ? `skipped (${check.message})` : check.ok ? 'ok' : `FAILED: ${check.message}`}`);

// 6. Run the file on ONNX Runtime and compare with tfjs.
const ort = (await runOnnxRuntime(onnx, { x })).output!;
const diff = maxAbsDiff(ort, tfjs);
console.log(`onnxruntime vs tfjs: max abs diff ${diff.toExponential(2)}`);
if (check.ok === false || !(diff < 1e-4)) process.exitCode = 1;
