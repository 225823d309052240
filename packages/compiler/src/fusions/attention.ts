/**
 * softmax(mask(scale * Q K^T + bias)) V, as the model wrote it, becomes one Attention node with
 * its heads still split (numHeads 0): torch's MultiheadAttention, d2l's masked softmax, ViT,
 * the Transformer's three attentions, Swin's windows. `attention-heads` then folds the head
 * split and merge into it where they are the standard ones.
 *
 * The chain between the product and the softmax may hold, in any order, up to three steps,
 * each an additive bias (`scores + bias`) or a boolean mask (`where(keep, scores, fill)` or
 * `where(drop, fill, scores)`: masked fill, d2l's valid lengths, key_padding_mask, attn_mask).
 * The scale may sit on Q or on the scores, as a Mul or a Div.
 */
import { type AttentionAttrs, type AttrsOf, type Dim, dimsEqual, type HostTensor, mulDims, opDef, ShapeError, shapeToString, type TensorType, shapesEqual, swapAxes } from '@tessera/graph-dsl';
import { alt, cst, type Match, op, optional, type Pattern, type RewriteBuilder, type Rule, v } from '../rewrite.ts';

const MAX_STEPS = 3;

const isScalar = (t: HostTensor) => t.data.length === 1;
/** A constant with every element equal (a fill value may be broadcast to a shape). */
const isUniform = (t: HostTensor) => t.data.length > 0 && Array.prototype.every.call(t.data, (x: number) => Object.is(x, t.data[0]));

/** `x`, or `x * c`, `c * x`, `x / c` for a scalar constant c, the op named `name`. */
function scaled(x: Pattern, name: string): Pattern {
  return alt(op('Mul', x, cst(isScalar).as(`${name}_c`)).as(name), op('Div', x, cst(isScalar).as(`${name}_c`)).as(name), x);
}

/** The score chain from the product to the softmax: up to `depth` bias or mask steps, outermost first. */
function chain(depth: number, base: Pattern): Pattern {
  if (depth === 0) return base;
  const inner = chain(depth - 1, base);
  const fill = cst(isUniform).as(`fill${depth}`);
  return alt(
    op('Add', inner, v(`bias${depth}`)).as(`step${depth}`),
    // Swin's per-window mask: the scores viewed as (B, nW, H, N, N) for the add, then viewed back
    op('Reshape', op('Add', op('Reshape', inner).as(`view${depth}`), v(`bias${depth}`)).as(`step${depth}`)).as(`unview${depth}`),
    op('Where', v(`keep${depth}`), inner, fill).as(`step${depth}`),
    op('Where', v(`drop${depth}`), fill, inner).as(`step${depth}`),
    inner,
  );
}

const product = op('MatMul', scaled(v('q'), 'qScale'), v('kT')).as('qk');
const softmax = op('Softmax', chain(MAX_STEPS, scaled(product, 'scoreScale'))).as('softmax');

/** The scale a matched Mul/Div contributes (1 when the step is absent). */
function scaleOf(m: Match, name: string): number {
  if (!m.has(name)) return 1;
  const c = m.constant(`${name}_c`).data[0] as number;
  return m.node(name).op === 'Div' ? 1 / c : c;
}

/** A bias or mask step: `name` is the pattern variable its operand is bound to. */
type Step = { kind: 'bias'; name: string } | { kind: 'keep' | 'drop'; name: string; fill: number };

/** The matched bias and mask steps, innermost first. */
function stepsOf(m: Match): Step[] {
  const steps: Step[] = [];
  for (let depth = 1; depth <= MAX_STEPS; depth++) {
    if (!m.has(`step${depth}`)) continue;
    if (m.node(`step${depth}`).op === 'Add') steps.push({ kind: 'bias', name: `bias${depth}` });
    else {
      const kind = m.has(`keep${depth}`) ? 'keep' : 'drop';
      steps.push({ kind, name: `${kind}${depth}`, fill: m.constant(`fill${depth}`).data[0] as number });
    }
  }
  // chain(3) names its outermost step 3, the step nearest the product 1: this is innermost first
  return steps;
}

/** Why the bias and mask steps do not compose into one Attention, or their single fill value. */
function composeSteps(steps: readonly Step[]): { fill: number } | string {
  let fill: number | undefined;
  for (const step of steps) {
    if (step.kind === 'bias') {
      if (fill !== undefined && fill !== -Infinity) return `a bias is added after a mask that fills ${fill}: the masked scores would move (only -inf stays put)`;
      continue;
    }
    if (fill !== undefined && !Object.is(fill, step.fill)) return `two masks fill different values (${fill} and ${step.fill})`;
    fill = step.fill;
  }
  return { fill: fill ?? -Infinity };
}

/** The permutation that swaps the last two axes. */
const swapLast = (rank: number) => swapAxes(rank, -2, -1);

/** K from K^T: the transpose's input, re-permuted, when K^T was written as a transpose. */
function untranspose(m: Match, kT: number): { source: number; perm: readonly number[] } {
  const rank = m.graph.types.get(kT)!.shape.length;
  const producer = m.producer(kT);
  if (producer?.op === 'Transpose') {
    const perm = (producer.attrs as AttrsOf<'Transpose'>).perm;
    return { source: producer.inputs[0]!, perm: swapLast(rank).map((p) => perm[p]!) };
  }
  return { source: kT, perm: swapLast(rank) };
}

const isIdentity = (perm: readonly number[]) => perm.every((p, i) => p === i);

function permuted(t: TensorType, perm: readonly number[]): TensorType {
  return { dtype: t.dtype, shape: perm.map((p) => t.shape[p]!) };
}

/**
 * Swin's window view: a bias step added to the scores (B*nW, H, N, N) viewed as (B, nW, H, N, N).
 * Then the whole attention is computed in that view: its operands are viewed alike, the output
 * viewed back. Undefined when there is no view step; a reason when the view is not of that form.
 */
function viewOf(m: Match): { lead: readonly [Dim, Dim] } | string | undefined {
  const views = [1, 2, 3].flatMap((d) => (m.has(`view${d}`) ? [d] : []));
  if (views.length === 0) return undefined;
  if (views.length > 1) return 'the scores are viewed in more than one shape';
  const d = views[0]!;
  const scores = m.graph.types.get(m.producer(m.value(`view${d}`))!.inputs[0]!)!.shape;
  const viewed = m.type(`view${d}`).shape;
  const back = m.type(`unview${d}`).shape;
  const ok = viewed.length === scores.length + 1 && dimsEqual(mulDims(viewed[0]!, viewed[1]!), scores[0]!) && shapesEqual(viewed.slice(2), scores.slice(1)) && shapesEqual(back, scores);
  return ok ? { lead: [viewed[0]!, viewed[1]!] } : `the scores ${shapeToString(scores)} are viewed as ${shapeToString(viewed)} and back as ${shapeToString(back)}: not a split of the first dim`;
}


/** A shape in the view: a full first dim split in two; broadcast (first dim 1) or lower-rank ones as they are. */
function inView(shape: readonly Dim[], rank: number, lead: readonly [Dim, Dim] | undefined): readonly Dim[] {
  if (!lead || shape.length < rank || shape[0] === 1) return shape;
  return [lead[0], lead[1], ...shape.slice(1)];
}

/** Every operand of the Attention node it would become, each type as the op sees it (in the view, if any). */
function operands(m: Match, lead: readonly [Dim, Dim] | undefined) {
  const rank = m.type('v').shape.length;
  const k = untranspose(m, m.value('kT'));
  const view = (t: TensorType): TensorType => ({ dtype: t.dtype, shape: inView(t.shape, rank, lead) });
  const stepType = (step: Step) => {
    const t = m.type(step.name);
    // the view step's bias is over the view already
    return step.name.startsWith('bias') && m.has(`view${step.name.slice(4)}`) ? t : view(t);
  };
  const key = permuted(m.graph.types.get(k.source)!, k.perm);
  return { key: k, keyType: key, types: [view(m.type('q')), view(key), view(m.type('v'))] as const, stepType };
}

function attrsOf(m: Match, fill: number, probs: boolean): AttentionAttrs {
  return { numHeads: 0, scale: scaleOf(m, 'qScale') * scaleOf(m, 'scoreScale'), causal: false, maskFill: fill, probs };
}

/** Why the Attention node's shape rule would refuse these operands (each bias and mask alone, as they add and combine). */
function shapeRefusal(m: Match, steps: readonly Step[], lead: readonly [Dim, Dim] | undefined, fill: number): string | undefined {
  const { types, stepType } = operands(m, lead);
  const attrs = attrsOf(m, fill, false);
  const trials: (TensorType | undefined)[][] = [[...types, undefined, undefined]];
  for (const step of steps) {
    const t = stepType(step);
    trials.push(step.kind === 'bias' ? [...types, t, undefined] : [...types, undefined, { dtype: 'bool', shape: t.shape }]);
  }
  for (const trial of trials) {
    try {
      opDef('Attention').infer(trial, attrs);
    } catch (e) {
      if (e instanceof ShapeError) return e.message;
      throw e;
    }
  }
  return undefined;
}

/** Several biases add up; several masks combine: keep only where every mask keeps. Operands are viewed as the op sees them. */
function emitSteps(m: Match, b: RewriteBuilder, steps: readonly Step[], lead: readonly [Dim, Dim] | undefined): { bias: number | null; mask: number | null } {
  const { stepType } = operands(m, lead);
  let bias: number | null = null;
  let mask: number | null = null;
  for (const step of steps) {
    const shape = stepType(step).shape;
    const value = shapesEqual(shape, m.type(step.name).shape) ? b.value(step.name) : b.op('Reshape', [b.value(step.name)], { shape });
    if (step.kind === 'bias') bias = bias === null ? value : b.op('Add', [bias, value], {});
    else {
      const keep = step.kind === 'keep' ? value : b.op('Not', [value], {});
      mask = mask === null ? keep : b.op('And', [mask, keep], {});
    }
  }
  return { bias, mask };
}

export const attentionRule: Rule = {
  name: 'attention',
  pattern: op('MatMul', optional((x) => op('Dropout', x).as('dropout'), softmax), v('v')),
  exposes: [{ node: 'softmax', output: 0 }],
  explainDepth: 2,
  check: (m) => {
    const softmaxNode = m.node('softmax');
    const soft = softmaxNode.attrs as AttrsOf<'Softmax'>;
    const rank = m.graph.types.get(softmaxNode.inputs[0]!)!.shape.length;
    if (soft.axis !== rank - 1 && soft.axis !== -1) return `the softmax is over axis ${soft.axis}, not the keys (the last axis)`;
    if (m.has('dropout') && (m.node('dropout').attrs as AttrsOf<'Dropout'>).p > 0) return 'dropout on the probabilities in training: left unfused, so that it draws as the model wrote it';
    const steps = stepsOf(m);
    const composed = composeSteps(steps);
    if (typeof composed === 'string') return composed;
    const view = viewOf(m);
    if (typeof view === 'string') return view;
    return shapeRefusal(m, steps, view?.lead, composed.fill);
  },
  rewrite: (m, b) => {
    const steps = stepsOf(m);
    const { fill } = composeSteps(steps) as { fill: number };
    const lead = (viewOf(m) as { lead: readonly [Dim, Dim] } | undefined)?.lead;
    const { key: k, keyType } = operands(m, lead);
    const rank = m.type('v').shape.length;
    const viewed = (value: number, shape: readonly Dim[]) => (lead ? b.op('Reshape', [value], { shape: inView(shape, rank, lead) }) : value);
    const keyT = isIdentity(k.perm) ? b.old(k.source) : b.op('Transpose', [b.old(k.source)], { perm: k.perm });
    const [q, key, value] = [viewed(b.value('q'), m.type('q').shape), viewed(keyT, keyType.shape), viewed(b.value('v'), m.type('v').shape)];
    const { bias, mask } = emitSteps(m, b, steps, lead);
    const probsRead = m.uses(m.value('softmax')) > 1;
    const [out, probs] = b.ops('Attention', [q, key, value, bias, mask], attrsOf(m, fill, probsRead));
    const back = (v: number, old: number) => (lead ? b.op('Reshape', [v], { shape: m.graph.types.get(old)!.shape }) : v);
    if (probsRead) b.expose('softmax', back(probs!, m.value('softmax')));
    return back(out!, m.root.outputs[0]!);
  },
};
