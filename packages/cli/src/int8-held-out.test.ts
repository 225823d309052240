import { describe, expect, it } from 'vitest';
import { checkpointToEvaluate, figuresLine } from './int8-held-out.ts';

describe('figuresLine', () => {
  const percent = { digits: 1, suffix: '%', unit: ' points', maxDrop: 0.5 };

  it('sets the three figures side by side with the int8 difference taken on ONNX Runtime', () => {
    expect(figuresLine('held-out accuracy', { tfjs: 91.25, onnx: 91.5, int8: 91.0 }, percent)).toBe(
      'held-out accuracy: tfjs fp32 91.3%, onnxruntime fp32 91.5%, onnxruntime int8 91.0% (int8 - fp32 -0.5 points; target: a drop of at most 0.5 points, met)',
    );
  });

  it('says when the target is not met, and signs a gain', () => {
    expect(figuresLine('BLEU', { tfjs: 0.9, onnx: 0.9, int8: 0.88 }, { digits: 3, suffix: '', unit: '', maxDrop: 0.01 })).toMatch(/\(int8 - fp32 -0\.020; target: a drop of at most 0\.01, NOT met\)$/);
    expect(figuresLine('exact', { tfjs: 90, onnx: 90, int8: 91 }, { digits: 0, suffix: '%', unit: ' points' })).toBe('exact: tfjs fp32 90%, onnxruntime fp32 90%, onnxruntime int8 91% (int8 - fp32 +1 points)');
  });

  it('judges the difference as printed: a drop that rounds to the target meets it, and no -0.0', () => {
    expect(figuresLine('a', { tfjs: 90, onnx: 90, int8: 89.52 }, percent)).toMatch(/-0\.5 points; .*, met\)$/);
    expect(figuresLine('a', { tfjs: 90, onnx: 90, int8: 89.99 }, percent)).toMatch(/\(int8 - fp32 0\.0 points;/);
  });
});

describe('checkpointToEvaluate', () => {
  it('is --resume\'s directory with --epochs 0, nothing with epochs to train, and an error without --resume', () => {
    expect(checkpointToEvaluate(0, 'ck')).toBe('ck');
    expect(checkpointToEvaluate(3, 'ck')).toBeUndefined();
    expect(() => checkpointToEvaluate(0, undefined)).toThrow(/--epochs 0 trains nothing: .*give --resume DIR/);
  });
});
