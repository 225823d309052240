/**
 * The shipped translation task: English number words to French number words, 1 to 999,
 * generated here (nothing is downloaded). French numbers are a real small language: "soixante
 * et onze" (71) is sixty and eleven, "quatre-vingt-dix-sept" (97) is four twenties ten seven,
 * "deux cents" takes an s that "deux cent un" drops. Hyphens are tokens of their own.
 */
import { seededRandom } from '@tessera/graph-dsl';

const EN_ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const EN_TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** 0..999 in English words: "four hundred twenty seven". */
export function english(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 999) throw new RangeError(`english: ${n} is not a whole number from 0 to 999`);
  const words: string[] = [];
  const h = Math.floor(n / 100);
  const r = n % 100;
  if (h > 0) words.push(EN_ONES[h]!, 'hundred');
  if (r >= 20) {
    words.push(EN_TENS[Math.floor(r / 10)]!);
    if (r % 10) words.push(EN_ONES[r % 10]!);
  } else if (r > 0 || n === 0) words.push(EN_ONES[r]!);
  return words.join(' ');
}

const FR_ONES = ['zéro', 'un', 'deux', 'trois', 'quatre', 'cinq', 'six', 'sept', 'huit', 'neuf', 'dix', 'onze', 'douze', 'treize', 'quatorze', 'quinze', 'seize', 'dix-sept', 'dix-huit', 'dix-neuf'];
const FR_TENS = ['', '', 'vingt', 'trente', 'quarante', 'cinquante', 'soixante'];

function frenchBelow100(r: number, final: boolean): string {
  if (r < 20) return FR_ONES[r]!;
  if (r < 70) {
    const [t, u] = [Math.floor(r / 10), r % 10];
    return u === 0 ? FR_TENS[t]! : u === 1 ? `${FR_TENS[t]} et un` : `${FR_TENS[t]}-${FR_ONES[u]}`;
  }
  if (r < 80) return r === 71 ? 'soixante et onze' : `soixante-${FR_ONES[r - 60]}`;
  if (r === 80) return final ? 'quatre-vingts' : 'quatre-vingt';
  return `quatre-vingt-${FR_ONES[r - 80]}`;
}

/** 0..999 in French words (traditional spelling): "quatre cent vingt-sept", "deux cents", "quatre-vingts". */
export function french(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 999) throw new RangeError(`french: ${n} is not a whole number from 0 to 999`);
  const h = Math.floor(n / 100);
  const r = n % 100;
  if (h === 0) return frenchBelow100(r, true);
  const hundreds = h === 1 ? 'cent' : r === 0 ? `${FR_ONES[h]} cents` : `${FR_ONES[h]} cent`;
  return r === 0 ? hundreds : `${hundreds} ${frenchBelow100(r, true)}`;
}

/** Words and hyphens as tokens, lower case: "Vingt-sept" -> ["vingt", "-", "sept"]. */
export function tokenize(sentence: string): string[] {
  return sentence.toLowerCase().replace(/-/g, ' - ').split(/\s+/).filter(Boolean);
}

/** The inverse of tokenize for output: hyphens join their neighbours. */
export function detokenize(tokens: readonly string[]): string {
  return tokens.join(' ').replace(/ - /g, '-');
}

export interface Pair {
  readonly source: string;
  readonly target: string;
}

export interface Corpus {
  readonly train: readonly Pair[];
  readonly heldOut: readonly Pair[];
}

/** Every number 1..999 as an (English, French) pair, shuffled with a seed and split: `heldOut` of them never trained on. */
export function numbersCorpus(options: { seed?: number; heldOut?: number } = {}): Corpus {
  const pairs = Array.from({ length: 999 }, (_, i) => ({ source: english(i + 1), target: french(i + 1) }));
  const random = seededRandom(options.seed ?? 1);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  const held = options.heldOut ?? 100;
  return { train: pairs.slice(held), heldOut: pairs.slice(0, held) };
}
