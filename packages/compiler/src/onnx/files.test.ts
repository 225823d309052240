import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportOnnxFiles } from './files.ts';
import { exportOnnx, onnx } from './index.ts';
import type { OnnxTypes } from './proto.ts';
import { mlpBlock } from './test-models.ts';
import { checkOnnx, maxAbsDiff, randomTensor, randomWeights, runOnnx } from './test-support.ts';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'tessera-onnx-files-'));

describe('exportOnnxFiles', () => {
  const graph = mlpBlock();
  const weights = randomWeights(graph, 4);
  const x = randomTensor([3, 2, 8], 21);

  it('writes external data (forced on a small model) that onnx.checker and ONNX Runtime load', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.onnx');
    const result = await exportOnnxFiles(graph, { weights, path: file, externalData: true, externalThreshold: 256 });
    expect(result.modelPath).toBe(file);
    expect(result.dataPath).toBe(`${file}.data`);
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.data']);

    const model = onnx.ModelProto.decode(readFileSync(file)) as OnnxTypes.ModelProto & { graph: OnnxTypes.GraphProto };
    const byName = new Map(model.graph.initializer.map((t) => [t.name, t as OnnxTypes.TensorProto]));
    const fc1 = byName.get('fc1.weight')!;
    expect(fc1.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    expect(fc1.rawData.byteLength).toBe(0);
    const entries = Object.fromEntries(fc1.externalData.map((e) => [e.key, e.value]));
    expect(entries.location).toBe('model.onnx.data');
    expect(Number(entries.length)).toBe(16 * 8 * 4);
    // the bytes at offset/length are the weight's
    const data = readFileSync(`${file}.data`);
    const stored = new Float32Array(data.buffer.slice(data.byteOffset + Number(entries.offset), data.byteOffset + Number(entries.offset) + Number(entries.length)));
    expect(Array.from(stored)).toEqual(Array.from(weights.get('fc1.weight')!.data));
    // small tensors stay inline
    expect(byName.get('fc1.bias')!.dataLocation).toBe(onnx.TensorProto.DataLocation.DEFAULT);
    expect(byName.get('fc1.bias')!.rawData.byteLength).toBe(16 * 4);
    expect(result.externalBytes).toBe(2 * 16 * 8 * 4);
    expect(statSync(`${file}.data`).size).toBeGreaterThanOrEqual(result.externalBytes);

    expect(checkOnnx(file)).toBeUndefined();
    const fromFiles = await runOnnx(file, { x });
    const inline = await runOnnx(exportOnnx(graph, { weights }), { x });
    expect(maxAbsDiff(fromFiles.output!.data, inline.output!.data)).toBe(0);
  });

  it('writes the same files every time', async () => {
    const [a, b] = [tempDir(), tempDir()];
    for (const dir of [a, b]) await exportOnnxFiles(graph, { weights, path: path.join(dir, 'm.onnx'), externalData: true, externalThreshold: 0 });
    for (const name of ['m.onnx', 'm.onnx.data']) expect(readFileSync(path.join(a, name)).equals(readFileSync(path.join(b, name))), name).toBe(true);
  });

  it('keeps a small model in one file by default, byte for byte exportOnnx, and overwrites it in place', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.onnx');
    const result = await exportOnnxFiles(graph, { weights, path: file });
    expect(result.dataPath).toBeUndefined();
    await exportOnnxFiles(graph, { weights, path: file });
    expect(readdirSync(dir)).toEqual(['model.onnx']);
    expect(readFileSync(file).equals(exportOnnx(graph, { weights }))).toBe(true);
  });

  it('leaves no file behind when the export fails', async () => {
    const dir = tempDir();
    const partial = new Map(weights);
    partial.delete('norm.bias');
    await expect(exportOnnxFiles(graph, { weights: partial, path: path.join(dir, 'model.onnx'), externalData: true })).rejects.toThrow(/norm\.bias/);
    await expect(exportOnnxFiles(graph, { weights, path: path.join(dir, 'missing', 'model.onnx'), externalData: true })).rejects.toThrow(/cannot write .*missing\/model\.onnx: its directory does not exist/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
