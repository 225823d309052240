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

export type Pattern = VarPattern | ConstPattern | OpPattern;

export const v = (name: string): VarPattern => new VarPattern(name);
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
  /** The (old graph) value bound to a variable or named pattern. */
  value(name: string): number;
  type(name: string): TensorType;
  node(name: string): Node;
  constant(name: string): HostTensor;
}

/** How a rewrite emits its replacement: ops over new-graph values, which carry the root's source line. */
export interface RewriteBuilder {
  /** The new-graph value of a variable (or of a named constant). */
  value(name: string): number;
  op<N extends OpName>(op: N, inputs: readonly (number | null)[], attrs: AttrsOf<N>): number;
  constant(value: HostTensor): number;
  type(value: number): TensorType;
}

export interface Rule {
  readonly name: string;
  readonly pattern: OpPattern;
  /** Refuses a structural match: return a reason ("dimension 2 of query is not 64"). */
  readonly check?: (match: Match) => string | undefined | void;
  /** The values that replace the root's outputs (one, or one per output). */
  readonly rewrite: (match: Match, b: RewriteBuilder) => number | readonly number[];
}

interface MatchState {
  bindings: Map<string, number>;
  named: Map<string, Node>;
  /** (pattern occurrence, node) pairs, root first. */
  matched: Node[];
  /** Value -> how many pattern edges read it (an op pattern's input that is itself an op pattern). */
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
  match(p: Pattern, value: number, s: MatchState): MatchState | string {
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
    const orders = COMMUTATIVE.has(node.op) && p.inputs.length === 2 ? [[0, 1], [1, 0]] : [p.inputs.map((_, i) => i)];
    let firstFailure = '';
    for (const order of orders) {
      let state: MatchState | string = orders.length > 1 ? clone(s) : s;
      for (let k = 0; k < order.length && typeof state !== 'string'; k++) {
        const input = node.inputs[order[k]!];
        const sub = p.inputs[k]!;
        if (input === null || input === undefined) state = `input ${order[k]} of ${node.op} %${value} is absent`;
        else {
          if (sub.kind === 'op') state.edges.set(input, (state.edges.get(input) ?? 0) + 1);
          const r: MatchState | string = this.match(sub, input, state);
          state = typeof r === 'string' ? `input ${order[k]} of ${node.op} %${value}: ${r}` : r;
        }
      }
      if (typeof state !== 'string') return state;
      firstFailure ||= state;
    }
    return firstFailure;
  }

  /** Interior nodes (all matched op nodes but the root) must be read only through the pattern. */
  sharedIntermediate(s: MatchState, root: Node): string | undefined {
    for (const node of new Set(s.matched)) {
      if (node === root) continue;
      for (const o of node.outputs) {
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
      for (let round = 0; round < rounds; round++) {
        const { graph: next, fired } = rewriteOnce(name, current, rules, ctx);
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
  const plans = new Map<Node, { rule: Rule; match: Match; bindings: Map<string, number> }>();
  const where = (node: Node) => `${node.op} %${node.outputs[0]}${node.source ? ` (${sourceToString(node.source)})` : ''}`;
  for (const rule of rules) {
    for (const node of graph.nodes) {
      if (node.op !== rule.pattern.op || claimed.has(node)) continue;
      const near = (reason: string) => ctx.note(`${rule.name}: near-match at ${where(node)}: ${reason}`);
      const s = matcher.match(rule.pattern, node.outputs[0]!, { bindings: new Map(), named: new Map(), matched: [], edges: new Map() });
      if (typeof s === 'string') {
        near(s);
        continue;
      }
      const taken = s.matched.find((n) => claimed.has(n));
      if (taken) {
        near(`${where(taken)} is already taken by another rewrite this round`);
        continue;
      }
      const shared = matcher.sharedIntermediate(s, node);
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
        value: lookup,
        type: (n) => graph.types.get(lookup(n))!,
        node: (n) => {
          const found = s.named.get(n);
          if (!found) throw new Error(`rule ${rule.name}: the pattern names no node '${n}'`);
          return found;
        },
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
      for (const n of s.matched) claimed.add(n);
      plans.set(node, { rule, match, bindings: s.bindings });
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
    const { rule, match, bindings } = plan;
    const b: RewriteBuilder = {
      value: (n) => {
        const old = bindings.get(n);
        if (old === undefined) throw new Error(`rule ${rule.name}: the pattern has no variable '${n}'`);
        return editor.value(old);
      },
      op: (o, inputs, attrs) => editor.add(o, inputs, attrs, node.source)[0]!,
      constant: (t) => editor.constant(t, node.source),
      type: (value) => editor.type(value),
    };
    const result = rule.rewrite(match, b);
    const values = typeof result === 'number' ? [result] : result;
    if (values.length !== node.outputs.length) throw new Error(`rule ${rule.name} gave ${values.length} values for ${node.outputs.length} outputs of ${where(node)}`);
    node.outputs.forEach((o, i) => {
      const want = graph.types.get(o)!;
      const got = editor.type(values[i]!);
      if (!sameType(want, got)) throw new Error(`rule ${rule.name} replaced ${where(node)} of type ${typeToString(want)} by a value of type ${typeToString(got)}`);
      editor.replace(o, values[i]!);
    });
    ctx.count(rule.name);
  }
  return { graph: editor.finish(), fired: plans.size };
}
