import { describe, expect, it } from 'vitest';
import { detokenize, english, french, numbersCorpus, tokenize } from './corpus.ts';

describe('the English -> French numbers corpus', () => {
  it('spells French numbers with their irregular forms', () => {
    const cases: [number, string][] = [
      [1, 'un'], [17, 'dix-sept'], [21, 'vingt et un'], [22, 'vingt-deux'], [70, 'soixante-dix'], [71, 'soixante et onze'],
      [77, 'soixante-dix-sept'], [80, 'quatre-vingts'], [81, 'quatre-vingt-un'], [97, 'quatre-vingt-dix-sept'], [100, 'cent'],
      [101, 'cent un'], [200, 'deux cents'], [280, 'deux cent quatre-vingts'], [999, 'neuf cent quatre-vingt-dix-neuf'],
    ];
    for (const [n, words] of cases) expect(french(n), String(n)).toBe(words);
    expect(english(427)).toBe('four hundred twenty seven');
    expect(english(90)).toBe('ninety');
    expect(() => french(1000)).toThrow(/0 to 999/);
  });

  it('tokenizes hyphens as tokens and joins them back', () => {
    expect(tokenize('Quatre-vingt-dix  sept')).toEqual(['quatre', '-', 'vingt', '-', 'dix', 'sept']);
    expect(detokenize(tokenize('deux cent quatre-vingts'))).toBe('deux cent quatre-vingts');
  });

  it('is deterministic and splits 1..999 into disjoint training and held-out pairs', () => {
    const a = numbersCorpus();
    const b = numbersCorpus();
    expect(a).toEqual(b);
    expect(a.train).toHaveLength(899);
    expect(a.heldOut).toHaveLength(100);
    const train = new Set(a.train.map((p) => p.source));
    expect(a.heldOut.some((p) => train.has(p.source))).toBe(false);
    expect(numbersCorpus({ seed: 2 }).heldOut).not.toEqual(a.heldOut);
  });
});
