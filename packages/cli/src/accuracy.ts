/**
 * How far a model's outputs moved against its fp32 reference, for every report of a smaller model
 * (`export --quantize`, `export --weights-dtype`): max abs and relative error, top-1 agreement.
 */
import type { HostTensor } from '@tessera/graph-dsl';
import { argmax } from './seq2seq/translator.ts';

export interface OutputAccuracy {
  readonly name: string;
  readonly shape: readonly number[];
  readonly maxAbs: number;
  /** max abs / max |fp32|; NaN when the fp32 output is all zeros. */
  readonly relative: number;
  /** Rows of a (B, classes) output whose arg max is the fp32 one's. */
  readonly top1?: { readonly agree: number; readonly rows: number };
}

/** Each float output of `got` against the same output of `reference`. */
export function compareOutputs(reference: Readonly<Record<string, HostTensor>>, got: Readonly<Record<string, HostTensor>>): OutputAccuracy[] {
  return Object.entries(reference)
    .filter(([, t]) => t.dtype === 'float32')
    .map(([name, ref]) => {
      const out = got[name];
      if (!out || out.data.length !== ref.data.length) throw new Error(`output ${name} is missing or of another size in the model compared with fp32`);
      let [maxAbs, peak] = [0, 0];
      for (let i = 0; i < ref.data.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(out.data[i]! - ref.data[i]!));
        peak = Math.max(peak, Math.abs(ref.data[i]!));
      }
      const [rows, classes] = ref.shape as [number, number];
      const agree = () => Array.from({ length: rows }, (_, r) => argmax(ref.data, r * classes, classes) === argmax(out.data, r * classes, classes)).filter(Boolean).length;
      // a classifier's logits: (B, classes)
      const top1 = ref.shape.length === 2 && classes > 1 ? { agree: agree(), rows } : undefined;
      return { name, shape: ref.shape, maxAbs, relative: peak > 0 ? maxAbs / peak : NaN, ...(top1 ? { top1 } : {}) };
    });
}

export function formatAccuracy(a: OutputAccuracy): string {
  const top1 = a.top1 ? `, top-1 agreement ${a.top1.agree}/${a.top1.rows}` : '';
  // torchvision's heads start at zero: the initial weights give all-zero logits
  const relative = Number.isNaN(a.relative) ? 'relative n/a (the fp32 output is all zeros: initial weights? give --weights)' : `relative ${(a.relative * 100).toFixed(2)} %`;
  return `${a.name} [${a.shape.join(', ')}]: max abs ${a.maxAbs.toExponential(2)}, ${relative}${top1}`;
}

/** The note a report ends with when an output moved by more than the 2 % a smaller model should keep, or a top-1 answer changed; `advice` says what to try. */
export function movedNote(accuracies: readonly OutputAccuracy[], advice: string): string | undefined {
  const moved = accuracies.filter((a) => a.relative > 0.02 || (a.top1 && a.top1.agree < a.top1.rows)).map((a) => a.name);
  return moved.length ? `note: ${moved.join(', ')} moved by more than 2 % or changed a top-1 answer; ${advice}` : undefined;
}
