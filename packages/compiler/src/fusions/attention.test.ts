import { describe, expect, it } from 'vitest';
import { constant, F, type Graph, hostTensor, Module, seededRandom, type Tensor, trace, where } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

type T = Tensor<'float32', number>;
type Bool = Tensor<'bool', number>;

/** Attention written out as a model would, with the pieces a case asks for. */
interface Case {
  /** Leading dims of Q, K, V (the scores are [...lead, L, S]). */
  lead: number[];
  L: number;
  S: number;
  E: number;
  Ev: number;
  /** Where the scale goes, and as which op. */
  scale: 'q-mul' | 'q-div' | 'scores-mul' | 'scores-div' | 'mul-left' | 'none';
  /** Steps between the product and the softmax, innermost first. */
  steps: ('bias' | 'keep' | 'drop')[];
  fill: number;
  /** Shapes of the bias / mask operands (broadcast to the scores). */
  biasShape: number[];
  maskShape: number[];
  probsRead: boolean;
}

class Written extends Module {
  constructor(readonly c: Case) {
    super();
  }
  forward(q: T, k: T, v: T, bias: T, mask: Bool) {
    const { c } = this;
    const d = Math.sqrt(c.E);
    const qs = c.scale === 'q-mul' ? q.mul(1 / d) : c.scale === 'q-div' ? q.div(d) : q;
    let s = qs.matmul(k.mT) as T;
    if (c.scale === 'scores-mul') s = s.mul(1 / d) as T;
    if (c.scale === 'scores-div') s = s.div(d) as T;
    if (c.scale === 'mul-left') s = constant(s, 1 / d, 'float32').mul(s) as T;
    for (const step of c.steps) {
      if (step === 'bias') s = s.add(bias) as T;
      else if (step === 'keep') s = where(mask, s, c.fill) as T;
      else s = where(mask.logicalNot(), c.fill, s) as T;
    }
    const p = s.softmax(-1);
    const out = F.dropout(p, 0.1).matmul(v);
    const outputs: Record<string, T> = { out };
    if (c.probsRead) outputs.probs = p.sum(-1);
    return outputs;
  }
}

function graphOf(c: Case): Graph {
  const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });
  return trace(new Written(c), {
    q: f32([...c.lead, c.L, c.E]),
    k: f32([...c.lead, c.S, c.E]),
    v: f32([...c.lead, c.S, c.Ev]),
    bias: f32(c.biasShape),
    mask: { dtype: 'bool', shape: c.maskShape },
  });
}

/** Masks that keep key 0 of every row (no fully masked softmax row), as the inputs of a case. */
function inputsOf(c: Case, seed: number) {
  const random = seededRandom(seed);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const floats = (s: number[]) => hostTensor('float32', s, Array.from({ length: size(s) }, () => 2 * random() - 1));
  const last = c.maskShape.at(-1)!;
  const mask = hostTensor('bool', c.maskShape, Array.from({ length: size(c.maskShape) }, (_, i) => (i % last === 0 || random() < 0.6 ? 1 : 0)));
  return { q: floats([...c.lead, c.L, c.E]), k: floats([...c.lead, c.S, c.E]), v: floats([...c.lead, c.S, c.Ev]), bias: floats(c.biasShape), mask };
}

/** A shape that broadcasts to `scores`: each dim kept or 1, leading dims maybe dropped. */
function broadcastable(scores: number[], random: () => number): number[] {
  const drop = Math.floor(random() * (scores.length - 1));
  return scores.slice(drop).map((d) => (random() < 0.5 ? d : 1));
}

function randomCase(random: () => number): Case {
  const pick = <X,>(xs: readonly X[]) => xs[Math.floor(random() * xs.length)]!;
  const lead = [[3], [2, 2], [1, 2, 2]][Math.floor(random() * 3)]!;
  const [L, S, E, Ev] = [1 + Math.floor(random() * 5), 1 + Math.floor(random() * 6), 2 + Math.floor(random() * 6), 1 + Math.floor(random() * 6)];
  const scores = [...lead, L, S];
  const steps = Array.from({ length: Math.floor(random() * 4) }, () => pick(['bias', 'keep', 'drop'] as const));
  return {
    lead, L, S, E, Ev,
    scale: pick(['q-mul', 'q-div', 'scores-mul', 'scores-div', 'mul-left', 'none'] as const),
    steps,
    fill: pick([-Infinity, -1e6]),
    biasShape: broadcastable(scores, random),
    maskShape: broadcastable(scores, random),
    probsRead: random() < 0.3,
  };
}

/** Whether the case is one Attention, decided from the case alone: a bias after a finite-fill mask is the one thing it cannot be. */
function fusable(c: Case): boolean {
  if (c.steps.length > 3) return false;
  let masked = false;
  for (const step of c.steps) {
    if (step === 'bias' && masked && c.fill !== -Infinity) return false;
    if (step !== 'bias') masked = true;
  }
  return true;
}

describe('attention fusion', () => {
  it('fires exactly on the fusable cases of 200 random attentions, and never changes a result (property test)', () => {
    const random = seededRandom(2024);
    let fired = 0;
    for (let n = 0; n < 200; n++) {
      const c = randomCase(random);
      const { counts, diff, graph } = fusedAndUnfused(graphOf(c), {}, { inputs: inputsOf(c, n) });
      const expected = fusable(c);
      expect(counts.attention, JSON.stringify(c)).toBe(expected ? 1 : 0);
      if (expected) {
        expect(opsOf(graph)).not.toContain('Softmax');
        fired++;
      }
      expect(diff, JSON.stringify(c)).toBeLessThanOrEqual(1e-5);
    }
    expect(fired).toBeGreaterThan(150);
  });

  it("keeps d2l's semantics for a fully masked row: -1e6 replaces the scores, so the row's weights are uniform", () => {
    const c: Case = { lead: [2], L: 3, S: 4, E: 4, Ev: 2, scale: 'scores-div', steps: ['keep'], fill: -1e6, biasShape: [1], maskShape: [2, 3, 4], probsRead: true };
    const inputs = inputsOf(c, 1);
    for (let j = 0; j < 4; j++) inputs.mask.data[j] = 0; // row 0 of batch 0: every key masked
    const { counts, diff } = fusedAndUnfused(graphOf(c), {}, { inputs });
    expect(counts.attention).toBe(1);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it('explains a refusal with the rule, the source line and the reason', () => {
    const c: Case = { lead: [2], L: 3, S: 4, E: 4, Ev: 2, scale: 'q-div', steps: ['keep', 'bias'], fill: -1e6, biasShape: [3, 4], maskShape: [2, 3, 4], probsRead: false };
    const { counts, notes } = fusedAndUnfused(graphOf(c), {}, { inputs: inputsOf(c, 3) });
    expect(counts.attention).toBe(0);
    expect(notes.join('\n')).toMatch(/attention: near-match at MatMul %\d+ \(.*attention\.test\.ts:\d+:\d+\): a bias is added after a mask that fills -1000000/);
  });

  it('refuses a mask that would stretch the scores, saying both shapes', () => {
    class Stretching extends Module {
      forward(q: T, k: T, v: T, mask: Bool) {
        // a (5, 1, 1, S) mask over (2, L, S) scores makes five copies of them: not one attention
        return where(mask, q.matmul(k.mT), -1e6).softmax(-1).matmul(v);
      }
    }
    const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });
    const graph = trace(new Stretching(), { q: f32([2, 3, 4]), k: f32([2, 5, 4]), v: f32([2, 5, 2]), mask: { dtype: 'bool', shape: [5, 1, 1, 5] } });
    const { counts, notes, diff } = fusedAndUnfused(graph, {});
    expect(counts.attention).toBe(0);
    expect(notes.join('\n')).toMatch(/attention: near-match at MatMul .*: mask \[5, 1, 1, 5\] has more dims than the scores \[2, 3, 5\]/);
    expect(diff).toBe(0);
  });
});
