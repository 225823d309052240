/** Calibration: ranges of a model's inner values over several batches, by min/max and by percentile. */
import { describe, expect, it } from 'vitest';
import { hostTensor } from '@tessera/graph-dsl';
import { calibrate, histogramPercentile } from './calibrate.ts';
import { DataType, type ModelProto } from './proto.ts';

/** y = Relu(x) * 2: the calibrated value is r = Relu(x). */
const model: ModelProto = {
  irVersion: 8,
  opsetImport: [{ domain: '', version: 17 }],
  graph: {
    name: 'relu-scale',
    node: [
      { opType: 'Relu', input: ['x'], output: ['r'] },
      { opType: 'Mul', input: ['r', 'two'], output: ['y'] },
    ],
    initializer: [{ name: 'two', dims: [], dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.of(2).buffer) }],
    input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }] } } } }],
    output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }] } } } }],
  },
};
const batch = (values: number[]) => ({ x: hostTensor('float32', [values.length], values) });

describe('calibrate', () => {
  it('minmax: the extremes of a value over every batch, and of an input as it is', async () => {
    const ranges = await calibrate(model, ['r', 'x'], [batch([-3, 0.5, 1]), batch([2.5, -1])], { kind: 'minmax' });
    expect(ranges.get('r')).toEqual({ min: 0, max: 2.5 });
    expect(ranges.get('x')).toEqual({ min: -3, max: 2.5 });
  });

  it('percentile: an outlier in 10,000 values does not set the range', async () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i / 10_000);
    values[17] = 100;
    const ranges = await calibrate(model, ['r'], [batch(values.slice(0, 5000)), batch(values.slice(5000))], { kind: 'percentile', percentile: 99.9 });
    const { min, max } = ranges.get('r')!;
    // min/max would be [0, 100]; the 99.9th percentile of values spread over [0, 1) is near 0.999
    expect(max).toBeGreaterThan(0.9);
    expect(max).toBeLessThan(1.1);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(min).toBeLessThan(0.06);
  });

  it('says which name is not a float value of the model', async () => {
    await expect(calibrate(model, ['nothing'], [batch([1])], { kind: 'minmax' })).rejects.toThrow(/nothing/);
    await expect(calibrate(model, ['r'], [], { kind: 'minmax' })).rejects.toThrow(/no calibration inputs/);
  });
});

describe('histogramPercentile', () => {
  it('interpolates within the bin the percentile falls in', () => {
    // 10 equal bins over [0, 10): the 25th percentile is 2.5, the 100th the top
    const counts = new Float64Array(10).fill(4);
    expect(histogramPercentile(counts, 0, 10, 25)).toBeCloseTo(2.5, 12);
    expect(histogramPercentile(counts, 0, 10, 100)).toBeCloseTo(10, 12);
    // all in the last bin
    expect(histogramPercentile(Float64Array.of(0, 0, 0, 8), 0, 4, 50)).toBeCloseTo(3.5, 12);
  });
});
