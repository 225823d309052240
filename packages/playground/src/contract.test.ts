import { describe, expect, it } from 'vitest';
import { hostTensor } from '@tessera/graph-dsl';
import { ConfigError } from '@tessera/models';
import { errorText, parseRequest, requestSearch, summarizeOutputs } from './contract.ts';

describe('the automation contract', () => {
  it('reads model, config pairs split at ;, seed and run from the URL', () => {
    expect(parseRequest('?model=swin_t&config=depths=2,2;num_heads=2,4;%20window_size=4,4&seed=3&run=1')).toEqual({
      model: 'swin_t',
      config: ['depths=2,2', 'num_heads=2,4', 'window_size=4,4'],
      seed: 3,
      run: true,
    });
    expect(parseRequest('?model=vit_b_16')).toEqual({ model: 'vit_b_16', config: [], seed: 0, run: false });
    expect(parseRequest('')).toBeUndefined();
  });
  it('writes the URL it reads', () => {
    const request = { model: 'torch_multihead_attention', config: ['embed_dim=16', 'num_heads=4'], seed: 7, run: true };
    expect(parseRequest(requestSearch(request))).toEqual(request);
  });
  it('refuses a seed that is not a whole number, as tessera run --random-inputs', () => {
    expect(() => parseRequest('?model=vit_b_16&seed=-2')).toThrow('seed=-2: expected a seed, a whole number from 0');
  });
  it('summarizes outputs: shape, sum, the first 8 values', () => {
    const t = hostTensor('float32', [2, 5], Array.from({ length: 10 }, (_, i) => i / 4));
    expect(summarizeOutputs({ y: t })).toEqual({ y: { shape: [2, 5], sum: 11.25, first: [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75] } });
  });
  it("says a user's error as its message and anything else as an internal error", () => {
    expect(errorText(new ConfigError('no such model'))).toBe('no such model');
    expect(errorText(new TypeError('x is undefined'))).toMatch(/^internal error \(a bug in Tessera, please report it\): TypeError: x is undefined/);
  });
});
