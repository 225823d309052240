/**
 * BLEU as d2l defines it: exp(min(0, 1 - len_label / len_pred)) times, for n = 1..k, the n-gram
 * precision p_n raised to 1/2^n. Where the prediction has fewer than n tokens that n is skipped
 * (d2l divides by zero there); an empty prediction scores 0.
 */
export function bleu(pred: readonly string[], label: readonly string[], k = 2): number {
  if (pred.length === 0) return 0;
  let score = Math.exp(Math.min(0, 1 - label.length / pred.length));
  for (let n = 1; n <= k; n++) {
    if (pred.length - n + 1 <= 0) continue;
    const subs = new Map<string, number>();
    for (let i = 0; i + n <= label.length; i++) {
      const g = label.slice(i, i + n).join(' ');
      subs.set(g, (subs.get(g) ?? 0) + 1);
    }
    let matches = 0;
    for (let i = 0; i + n <= pred.length; i++) {
      const g = pred.slice(i, i + n).join(' ');
      const left = subs.get(g) ?? 0;
      if (left > 0) {
        matches++;
        subs.set(g, left - 1);
      }
    }
    score *= (matches / (pred.length - n + 1)) ** 0.5 ** n;
  }
  return score;
}
