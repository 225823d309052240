import {
  type AttrsOf,
  dimsEqual,
  type Graph,
  type HostTensor,
  type Node,
  type OpName,
  sourceToString,
  type TensorType,
  typeToString,
} from '@tessera/graph-dsl';
import { GraphEditor, producers, useCounts } from './edit.ts';
import type { Pass, PassContext } from './pass.ts';

/** Ops whose two operands may be swapped; patterns over them match either order. */
export const COMMUTATIVE: ReadonlySet<OpName> = new Set<OpName>(['Add', 'Mul', 'Maximum', 'Minimum', 'And', 'Or', 'Equal']);

// ---------------------------------------------------------------------------------------------
// Patterns: written as ordinary op calls over pattern variables,
//   op('Add', op('MatMul', v('x'), v('w')), v('b'))
// ---------------------------------------------------------------------------------------------

/** Matches any value and binds it to a name; a name used twice must see the same value. */
export class VarPattern {
  readonly kind = 'var';
  constructor(readonly name: string) {}
}

/** Matches the output of a Constant node whose tensor passes `test`. */
export class ConstPattern {
  readonly kind = 'const';
  constructor(
    readonly label: string,
    readonly test: (t: HostTensor) => boolean = () => true,
    readonly name?: string,
  ) {}
  /** Binds the constant to a name (`match.constant(name)`, `builder.value(name)`). */
  as(name: string): ConstPattern {
    return new ConstPattern(this.label, this.test, name);
  }
}

/** Matches a node of op `op` whose inputs match `inputs` in order (either order when commutative). */
export class OpPattern<N extends OpName = OpName> {
  readonly kind = 'op';
  constructor(
    readonly op: N,
    readonly inputs: readonly Pattern[],
    readonly name?: string,
    /** Refuses by attributes: false or a reason string. */
    readonly attrs?: (attrs: AttrsOf<N>) => boolean | string,
  ) {}
  /** Names the matched node (`match.node(name)`). */
  as(name: string): OpPattern<N> {
    return new OpPattern(this.op, this.inputs, name, this.attrs);
  }
  where(test: (attrs: AttrsOf<N>) => boolean | string): OpPattern<N> {
    return new OpPattern(this.op, this.inputs, this.name, test);
  }
}

/** Matches the first of several patterns that matches (an optional step is `alt(op(..., x), x)`). */
export class AltPattern {
  readonly kind = 'alt';
  constructor(readonly options: readonly Pattern[]) {}
}

/** Matches an absent optional input (`alt(v('bias'), absent())`: a bias or none). */
export class AbsentPattern {
  readonly kind = 'absent';
}

export type Pattern = VarPattern | ConstPattern | OpPattern | AltPattern | AbsentPattern;

export const v = (name: string): VarPattern => new VarPattern(name);
export const alt = (...options: Pattern[]): AltPattern => new AltPattern(options);
export const absent = (): AbsentPattern => new AbsentPattern();
/** `inner`, or `inner` wrapped by `wrap` (a step that may be there or not). */
export const optional = (wrap: (inner: Pattern) => Pattern, inner: Pattern): AltPattern => alt(wrap(inner), inner);
export const op = <N extends OpName>(name: N, ...inputs: Pattern[]): OpPattern<N> => new OpPattern(name, inputs);

/** A constant: any, every element equal to a number, or passing a test. */
export function cst(value?: number | ((t: HostTensor) => boolean)): ConstPattern {
  if (value === undefined) return new ConstPattern('Constant');
  if (typeof value === 'function') return new ConstPattern('Constant (tested)', value);
  return new ConstPattern(`Constant ${value}`, (t) => (t.data as ArrayLike<number>).length > 0 && Array.prototype.every.call(t.data, (x: number) => x === value));
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/** What a rule sees of a match: the old graph's values and nodes by the pattern's names. */
export interface Match {
  readonly graph: Graph;
  readonly root: Node;
  /** Every matched op node (root first); constants not included. */
  readonly nodes: readonly Node[];
  /** Whether the match bound this variable or named node (a pattern alternative or optional step may not have). */
  has(name: string): boolean;
  /** The (old graph) value bound to a variable or named pattern. */
  value(name: string): number;
  type(name: string): TensorType;
  node(name: string): Node;
  constant(name: string): HostTensor;
  /** The node that produces a value (undefined for inputs and parameters). */
  producer(value: number): Node | undefined;
  /** How many times a value is read (graph outputs included). */
  uses(value: number): number;
}

/** How a rewrite emits its replacement: ops over new-graph values, which carry the root's source line. */
export interface RewriteBuilder {
  /** The new-graph value of a variable (or of a named constant). */
  value(name: string): number;
  /** Reads of output `output` of a named interior node (one of the rule's `exposes`) are given `value` instead. */
  expose(name: string, value: number, output?: number): void;
  /** The new-graph value of any old value defined before the root and outside the match. */
  old(value: number): number;
  op<N extends OpName>(op: N, inputs: readonly (number | null)[], attrs: AttrsOf<N>): number;
  /** `op` for an op with several outputs: all of them. */
  ops<N extends OpName>(op: N, inputs: readonly (number | null)[], attrs: AttrsOf<N>): number[];
  constant(value: HostTensor): number;
  type(value: number): TensorType;
}

export interface Exposed {
  readonly node: string;
  readonly output: number;
}

export interface Rule {
  readonly name: string;
  readonly pattern: OpPattern;
  /** Refuses a structural match: return a reason ("dimension 2 of query is not 64"). */
  readonly check?: (match: Match) => string | undefined | void;
  /** The values that replace the root's outputs (one, or one per output). */
  readonly rewrite: (match: Match, b: RewriteBuilder) => number | readonly number[];
  /** Outputs of named interior nodes that may be read outside the match: the rewrite gives their replacements with `expose`. */
  readonly exposes?: readonly Exposed[];
  /** Named interior nodes that stay in the graph for their other readers (a transposed weight shared by several products). */
  readonly keeps?: readonly string[];
  /** Explain mode notes a structural near-match only when it got this many ops deep (0: every candidate root). */
  readonly explainDepth?: number;
}

/** How many ops deep a failure reason goes ('input 0 of MatMul %5: input 0 of Softmax %4: ...' is 2). */
const failureDepth = (reason: string): number => reason.split(/input \d+ of /).length - 1;

interface MatchState {
  bindings: Map<string, number>;
  named: Map<string, Node>;
  /** (pattern occurrence, node) pairs, root first. */
  matched: Node[];
  /** Value -> how many times an op pattern matched it (reads the rewrite removes). */
  edges: Map<number, number>;
}

const clone = (s: MatchState): MatchState => ({ bindings: new Map(s.bindings), named: new Map(s.named), matched: [...s.matched], edges: new Map(s.edges) });

class Matcher {
  readonly producer: Map<number, Node>;
  readonly uses: Map<number, number>;
  constructor(readonly graph: Graph) {
    this.producer = producers(graph);
    this.uses = useCounts(graph);
  }

  private describe(value: number): string {
    const p = this.producer.get(value);
    if (p) return `%${value} is produced by ${p.op}`;
    const named = [...this.graph.inputs, ...this.graph.params].find((x) => x.value === value);
    return `%${value} is ${named ? `'${named.name}'` : 'not produced by a node'}`;
  }

  /** Matches `p` at `value`; returns the state or the reason it failed. */
  match(p: Pattern, value: number | null, s: MatchState): MatchState | string {
    if (p.kind === 'absent') return value === null ? s : `%${value} is there, pattern wants an absent input`;
    if (p.kind === 'alt') {
      let deepest = '';
      for (const option of p.options) {
        const r = this.match(option, value, clone(s));
        if (typeof r !== 'string') return r;
        if (!deepest || failureDepth(r) > failureDepth(deepest)) deepest = r;
      }
      return deepest;
    }
    if (value === null) return 'the input is absent';
    if (p.kind === 'var') {
      const prev = s.bindings.get(p.name);
      if (prev !== undefined && prev !== value) return `variable ${p.name} would be both %${prev} and %${value}`;
      s.bindings.set(p.name, value);
      return s;
    }
    const node = this.producer.get(value);
    if (p.kind === 'const') {
      if (!node || node.op !== 'Constant') return `${this.describe(value)}, pattern wants ${p.label}`;
      const t = (node.attrs as AttrsOf<'Constant'>).value;
      if (!p.test(t)) return `%${value} is a constant that is not ${p.label}`;
      if (p.name) s.bindings.set(p.name, value);
      return s;
    }
    if (!node || node.op !== p.op) return `${this.describe(value)}, pattern wants ${p.op}`;
    if (node.outputs[0] !== value) return `%${value} is not the first output of its ${node.op}`;
    if (node.inputs.length !== p.inputs.length) return `${node.op} %${value} has ${node.inputs.length} inputs, pattern wants ${p.inputs.length}`;
    if (p.attrs) {
      const ok = p.attrs(node.attrs as never);
      if (ok !== true) return `${node.op} %${value}: ${typeof ok === 'string' ? ok : 'attributes do not match'}`;
    }
    if (p.name) {
      const prev = s.named.get(p.name);
      if (prev && prev !== node) return `${p.name} would be two different nodes`;
      s.named.set(p.name, node);
      s.bindings.set(p.name, value);
    }
    s.matched.push(node);
    // one more read of this value that the pattern accounts for
    s.edges.set(value, (s.edges.get(value) ?? 0) + 1);
    const orders = COMMUTATIVE.has(node.op) && p.inputs.length === 2 ? [[0, 1], [1, 0]] : [p.inputs.map((_, i) => i)];
    let firstFailure = '';
    for (const order of orders) {
      let state: MatchState | string = orders.length > 1 ? clone(s) : s;
      for (let k = 0; k < order.length && typeof state !== 'string'; k++) {
        const input = node.inputs[order[k]!] ?? null;
        const sub = p.inputs[k]!;
        const r: MatchState | string = this.match(sub, input, state);
        state = typeof r === 'string' ? `input ${order[k]} of ${node.op} %${value}: ${r}` : r;
      }
      if (typeof state !== 'string') return state;
      firstFailure ||= state;
    }
    return firstFailure;
  }

  /** Interior nodes (all matched op nodes but the root and those exposed) must be read only through the pattern. */
  sharedIntermediate(s: MatchState, root: Node, exposed: ReadonlySet<number>, kept: ReadonlySet<Node>): string | undefined {
    for (const node of new Set(s.matched)) {
      if (node === root || kept.has(node)) continue;
      for (const o of node.outputs) {
        if (exposed.has(o)) continue;
        const uses = this.uses.get(o) ?? 0;
        const inside = s.edges.get(o) ?? 0;
        if (uses !== inside) return `intermediate %${o} (${node.op}) is also used outside the pattern (${uses} uses, ${inside} inside)`;
      }
    }
    return undefined;
  }
}

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => dimsEqual(d, b.shape[i]!));
}

/** The replacement is emitted where the root was: an exposed value read outside the match before that point could not be given. */
function readBeforeRoot(graph: Graph, root: Node, exposed: ReadonlySet<number>, matched: ReadonlySet<Node>): string | undefined {
  if (exposed.size === 0) return undefined;
  for (const node of graph.nodes) {
    if (node === root) return undefined;
    if (!matched.has(node) && node.inputs.some((i) => i !== null && exposed.has(i))) return `${node.op} %${node.outputs[0]} reads an exposed intermediate before the match's root`;
  }
  return undefined;
}

export interface RewriteOptions {
  /** Rounds over the graph until no rule fires (a rewrite can enable another). */
  readonly maxRounds?: number;
}

/**
 * A pass that runs an ordered list of rules. Each round, every rule in order looks at every node
 * (in graph order) as a root; a match whose nodes another match of this round took is left for
 * the next round. A match is refused when an intermediate it would remove is read outside it
 * (the value is still needed), or when the rule's `check` says why. Rounds repeat until nothing
 * fires. Fired rules are counted; in explain mode each near-match (root op right, rest not) is noted
 * with the reason.
 */
export function rewritePass(name: string, rules: readonly Rule[], options: RewriteOptions = {}): Pass {
  return {
    name,
    run(graph: Graph, ctx: PassContext): Graph {
      let current = graph;
      const rounds = options.maxRounds ?? 8;
      // a near-match seen again in a later round (its values renumbered) is reported once
      const seen = new Set<string>();
      const note = (message: string) => {
        const key = message.replace(/%\d+/g, '%');
        if (!seen.has(key)) {
          seen.add(key);
          ctx.note(message);
        }
      };
      for (let round = 0; round < rounds; round++) {
        const { graph: next, fired } = rewriteOnce(name, current, rules, { ...ctx, note });
        current = next;
        if (!fired) return current;
      }
      ctx.note(`${name}: rules still fired after ${rounds} rounds; stopped (does a rule rewrite to its own pattern?)`);
      return current;
    },
  };
}

/** One round of rewriting; exported for tests and for passes that want a single sweep. */
export function rewriteOnce(pass: string, graph: Graph, rules: readonly Rule[], ctx: PassContext): { graph: Graph; fired: number } {
  const matcher = new Matcher(graph);
  const claimed = new Set<Node>();
  const plans = new Map<Node, { rule: Rule; match: Match; bindings: Map<string, number>; named: Map<string, Node> }>();
  const where = (node: Node) => `${node.op} %${node.outputs[0]}${node.source ? ` (${sourceToString(node.source)})` : ''}`;
  for (const rule of rules) {
    for (const node of graph.nodes) {
      if (node.op !== rule.pattern.op || claimed.has(node)) continue;
      const near = (reason: string) => ctx.note(`${rule.name}: near-match at ${where(node)}: ${reason}`);
      const s = matcher.match(rule.pattern, node.outputs[0]!, { bindings: new Map(), named: new Map(), matched: [], edges: new Map() });
      if (typeof s === 'string') {
        if (failureDepth(s) >= (rule.explainDepth ?? 0)) near(s);
        continue;
      }
      const taken = s.matched.find((n) => claimed.has(n));
      if (taken) {
        near(`${where(taken)} is already taken by another rewrite this round`);
        continue;
      }
      const exposed = new Set((rule.exposes ?? []).flatMap((e) => (s.named.has(e.node) ? [s.named.get(e.node)!.outputs[e.output]!] : [])));
      const kept = new Set((rule.keeps ?? []).flatMap((n) => (s.named.has(n) ? [s.named.get(n)!] : [])));
      const shared = matcher.sharedIntermediate(s, node, exposed, kept) ?? readBeforeRoot(graph, node, exposed, new Set(s.matched));
      if (shared) {
        near(shared);
        continue;
      }
      const lookup = (n: string) => {
        const value = s.bindings.get(n);
        if (value === undefined) throw new Error(`rule ${rule.name}: the pattern has no variable '${n}'`);
        return value;
      };
      const match: Match = {
        graph,
        root: node,
        nodes: s.matched,
        has: (n) => s.bindings.has(n) || s.named.has(n),
        value: lookup,
        type: (n) => graph.types.get(lookup(n))!,
        node: (n) => {
          const found = s.named.get(n);
          if (!found) throw new Error(`rule ${rule.name}: the pattern names no node '${n}'`);
          return found;
        },
        producer: (value) => matcher.producer.get(value),
        uses: (value) => matcher.uses.get(value) ?? 0,
        constant: (n) => {
          const p = matcher.producer.get(lookup(n));
          if (p?.op !== 'Constant') throw new Error(`rule ${rule.name}: '${n}' is not a constant`);
          return (p.attrs as AttrsOf<'Constant'>).value;
        },
      };
      const refused = rule.check?.(match);
      if (typeof refused === 'string') {
        near(refused);
        continue;
      }
      for (const n of s.matched) if (!kept.has(n)) claimed.add(n);
      plans.set(node, { rule, match, bindings: s.bindings, named: s.named });
    }
  }
  if (plans.size === 0) return { graph, fired: 0 };

  const editor = new GraphEditor(graph, pass);
  for (const node of graph.nodes) {
    const plan = plans.get(node);
    if (!plan) {
      if (!claimed.has(node)) editor.copy(node);
      continue;
    }
    const { rule, match, bindings, named } = plan;
    const replaceChecked = (old: number, value: number, what: string) => {
      const want = graph.types.get(old)!;
      const got = editor.type(value);
      if (!sameType(want, got)) throw new Error(`rule ${rule.name} replaced ${what} of type ${typeToString(want)} by a value of type ${typeToString(got)}`);
      editor.replace(old, value);
    };
    const b: RewriteBuilder = {
      value: (n) => {
        const old = bindings.get(n);
        if (old === undefined) throw new Error(`rule ${rule.name}: the pattern has no variable '${n}'`);
        return editor.value(old);
      },
      old: (value) => editor.value(value),
      op: (o, inputs, attrs) => editor.add(o, inputs, attrs, node.source)[0]!,
      ops: (o, inputs, attrs) => editor.add(o, inputs, attrs, node.source),
      constant: (t) => editor.constant(t, node.source),
      type: (value) => editor.type(value),
      expose: (n, value, output = 0) => {
        const interior = named.get(n);
        if (!interior || !(rule.exposes ?? []).some((e) => e.node === n && e.output === output)) throw new Error(`rule ${rule.name}: output ${output} of '${n}' is not one the rule exposes`);
        replaceChecked(interior.outputs[output]!, value, where(interior));
      },
    };
    const result = rule.rewrite(match, b);
    const values = typeof result === 'number' ? [result] : result;
    if (values.length !== node.outputs.length) throw new Error(`rule ${rule.name} gave ${values.length} values for ${node.outputs.length} outputs of ${where(node)}`);
    node.outputs.forEach((o, i) => replaceChecked(o, values[i]!, where(node)));
    ctx.count(rule.name);
  }
  return { graph: editor.finish(), fired: plans.size };
}
