import { describe, expect, it } from 'vitest';
import { buildModel, CATALOG } from './catalog.ts';
import { configWords, resolveConfig } from './config.ts';

describe('config values are checked before anything is built', () => {
  it('refuses sizes that are negative, zero, fractional, none or huge, and probabilities outside [0, 1)', () => {
    const cases: [string, string[], RegExp][] = [
      ['torch_multihead_attention', ['num_heads=-4'], /config num_heads=-4 is not valid: expected a whole number from 1 to 65536/],
      ['torch_multihead_attention', ['embed_dim=1e9'], /config embed_dim=1000000000 is not valid: expected a whole number from 1/],
      ['torch_multihead_attention', ['num_heads=none'], /config num_heads=none is not valid: expected a number/],
      ['torch_multihead_attention', ['embed_dim=16', 'num_heads=4', 'batch=-3'], /config batch=-3 is not valid/],
      ['torch_multihead_attention', ['dropout=1.5'], /config dropout=1.5 is not valid: expected a probability/],
      ['swin_t', ['window_size=0,0'], /config window_size=0,0 is not valid: expected a whole number from 1/],
      ['vit_b_16', ['image_size=99999984'], /config image_size=99999984 is not valid/],
      ['vit_b_16', ['num_layers=2.5'], /config num_layers=2.5 is not valid: expected a whole number/],
    ];
    for (const [model, config, message] of cases) expect(() => buildModel(model, config), config.join(' ')).toThrow(message);
  });

  it('refuses a key given twice, naming both values', () => {
    expect(() => buildModel('torch_multihead_attention', ['embed_dim=16', 'num_heads=4', 'embed_dim=32'])).toThrow(/config key embed_dim is given twice \(16 and 32\)/);
  });

  it('takes values in range, none where the default is none, and a symbolic batch', () => {
    expect(() => buildModel('torch_multihead_attention', ['embed_dim=16', 'num_heads=4', 'kdim=none', 'dropout=0.1', 'batch=B'])).not.toThrow();
  });
});

describe('configWords', () => {
  it("writes every catalog model's defaults as key=value words that resolve to the same config", () => {
    for (const entry of CATALOG) {
      const words = configWords(entry.defaults);
      expect(resolveConfig(entry.name, entry.defaults, entry.choices, words), entry.name).toEqual(entry.defaults);
    }
    expect(configWords({ depths: [2, 2, 6, 2], kdim: null, batch_first: true })).toEqual(['depths=2,2,6,2', 'kdim=null', 'batch_first=true']);
  });
});
