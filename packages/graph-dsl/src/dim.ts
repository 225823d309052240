/**
 * Symbolic dimensions: a dimension is a number or a polynomial over named symbols with
 * rational coefficients ('B', 'H/2', 'T+1', 'B*heads'). Every expression has one canonical
 * form, so two dims are equal exactly when their canonical strings are.
 */

/** One monomial: coefficient times the product of its (sorted, repeated) symbols. */
interface Term {
  readonly coef: number;
  readonly symbols: readonly string[];
}

export class SymDim {
  /** Terms in canonical order, no zero coefficients, at least one symbol in some term. */
  readonly terms: readonly Term[];
  private constructor(terms: readonly Term[]) {
    this.terms = terms;
  }
  /** Builds the canonical dim: a plain number when no symbol remains. */
  static of(terms: readonly Term[]): Dim {
    const merged = new Map<string, Term>();
    for (const t of terms) {
      const symbols = [...t.symbols].sort();
      const key = symbols.join('*');
      const prev = merged.get(key);
      merged.set(key, { coef: (prev?.coef ?? 0) + t.coef, symbols });
    }
    const kept = [...merged.values()]
      .filter((t) => Math.abs(t.coef) > 1e-12)
      .sort((a, b) => b.symbols.length - a.symbols.length || a.symbols.join('*').localeCompare(b.symbols.join('*')));
    if (kept.every((t) => t.symbols.length === 0)) return kept[0]?.coef ?? 0;
    return new SymDim(kept);
  }
  toString(): string {
    return this.terms
      .map((t, i) => {
        const mag = Math.abs(t.coef);
        const sign = t.coef < 0 ? (i === 0 ? '-' : ' - ') : i === 0 ? '' : ' + ';
        if (t.symbols.length === 0) return sign + formatNumber(mag);
        const frac = fraction(mag);
        const num = frac.num === 1 ? '' : `${frac.num}*`;
        const den = frac.den === 1 ? '' : `/${frac.den}`;
        return sign + num + t.symbols.join('*') + den;
      })
      .join('');
  }
}

export type Dim = number | SymDim;

function formatNumber(n: number): string {
  const f = fraction(n);
  return f.den === 1 ? String(f.num) : `${f.num}/${f.den}`;
}

/** Recovers a small fraction from a float coefficient (coefficients come from integer division). */
function fraction(x: number): { num: number; den: number } {
  for (let den = 1; den <= 1 << 20; den++) {
    const num = Math.round(x * den);
    if (Math.abs(num / den - x) < 1e-9) return { num, den };
  }
  return { num: x, den: 1 };
}

function termsOf(d: Dim): readonly Term[] {
  return typeof d === 'number' ? [{ coef: d, symbols: [] }] : d.terms;
}

export function sym(name: string): Dim {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`sym: '${name}' is not a symbol name (letters, digits, _)`);
  return SymDim.of([{ coef: 1, symbols: [name] }]);
}

export function isSymbolic(d: Dim): d is SymDim {
  return typeof d !== 'number';
}

export function addDims(a: Dim, b: Dim): Dim {
  return SymDim.of([...termsOf(a), ...termsOf(b)]);
}

export function subDims(a: Dim, b: Dim): Dim {
  return addDims(a, mulDims(b, -1));
}

export function mulDims(a: Dim, b: Dim): Dim {
  const out: Term[] = [];
  for (const x of termsOf(a)) for (const y of termsOf(b)) out.push({ coef: x.coef * y.coef, symbols: [...x.symbols, ...y.symbols] });
  return SymDim.of(out);
}

/**
 * Exact division. By a number it scales the coefficients (whether the result is whole is
 * checked when symbols are bound); by a monomial (a symbol, B*T) it removes those factors from every term.
 */
export function divDims(a: Dim, b: Dim): Dim {
  if (typeof b === 'number') {
    if (b === 0) throw new Error(`cannot divide ${dimToString(a)} by 0`);
    return SymDim.of(termsOf(a).map((t) => ({ coef: t.coef / b, symbols: t.symbols })));
  }
  if (b.terms.length === 1) {
    // a monomial (heads, B*T, 5*B*Q): remove its symbols from every term
    const { coef, symbols } = b.terms[0]!;
    return SymDim.of(
      termsOf(a).map((t) => {
        const rest = [...t.symbols];
        for (const name of symbols) {
          const i = rest.indexOf(name);
          if (i < 0) throw new Error(`cannot divide ${dimToString(a)} by ${dimToString(b)}: not every term has the factor ${name}`);
          rest.splice(i, 1);
        }
        return { coef: t.coef / coef, symbols: rest };
      }),
    );
  }
  throw new Error(`cannot divide ${dimToString(a)} by ${dimToString(b)}`);
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return dimToString(a) === dimToString(b);
}

/** Whether two shapes are the same dims, axis by axis. */
export function shapesEqual(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimsEqual(d, b[i]!));
}

export function dimToString(d: Dim): string {
  return typeof d === 'number' ? formatNumber(d) : d.toString();
}

export function shapeToString(shape: readonly Dim[]): string {
  return `[${shape.map(dimToString).join(', ')}]`;
}

export function symbolsOf(d: Dim): string[] {
  return typeof d === 'number' ? [] : [...new Set(d.terms.flatMap((t) => t.symbols))].sort();
}

export type Bindings = ReadonlyMap<string, number>;

/** Replaces the bound symbols; what stays unbound stays symbolic. */
export function substitute(d: Dim, bindings: Bindings): Dim {
  if (typeof d === 'number') return d;
  return SymDim.of(
    d.terms.map((t) => {
      let coef = t.coef;
      const rest: string[] = [];
      for (const s of t.symbols) {
        const v = bindings.get(s);
        if (v === undefined) rest.push(s);
        else coef *= v;
      }
      return { coef, symbols: rest };
    }),
  );
}

/** The value of a dim under bindings; throws when a symbol is unbound or the value is not a whole non-negative number. */
export function evaluateDim(d: Dim, bindings: Bindings): number {
  const v = substitute(d, bindings);
  if (typeof v !== 'number') throw new Error(`dimension ${dimToString(d)} needs a value for ${symbolsOf(v).join(', ')}`);
  const rounded = Math.round(v);
  if (Math.abs(v - rounded) > 1e-9 || rounded < 0) {
    const given = symbolsOf(d).map((s) => `${s}=${bindings.get(s)}`).join(', ');
    throw new Error(`dimension ${dimToString(d)} is ${formatNumber(v)} for ${given}: it must be a whole number`);
  }
  return rounded;
}

/** Parses 'H/2', 'T+1', 'B*heads', '(H+1)/2' or a plain integer into a dim. */
export function parseDim(text: string): Dim {
  const tokens = text.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[-+*/()])/g)?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== text.replace(/\s+/g, '')) throw new Error(`cannot parse dimension '${text}'`);
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const expr = (): Dim => {
    let left = term();
    while (peek() === '+' || peek() === '-') {
      const op = tokens[pos++];
      const right = term();
      left = op === '+' ? addDims(left, right) : subDims(left, right);
    }
    return left;
  };
  const term = (): Dim => {
    let left = factor();
    while (peek() === '*' || peek() === '/') {
      const op = tokens[pos++];
      const right = factor();
      left = op === '*' ? mulDims(left, right) : divDims(left, right);
    }
    return left;
  };
  const factor = (): Dim => {
    const t = tokens[pos++];
    if (t === undefined) throw new Error(`cannot parse dimension '${text}': it ends too early`);
    if (t === '(') {
      const inner = expr();
      if (tokens[pos++] !== ')') throw new Error(`cannot parse dimension '${text}': missing ')'`);
      return inner;
    }
    if (t === '-') return mulDims(factor(), -1);
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) return sym(t);
    throw new Error(`cannot parse dimension '${text}': unexpected '${t}'`);
  };
  const result = expr();
  if (pos !== tokens.length) throw new Error(`cannot parse dimension '${text}': unexpected '${tokens[pos]}'`);
  return result;
}

/** Accepts the ways a user writes a dim: a number, a symbol expression string, or a dim. */
export type DimLike = Dim | string;

export function toDim(d: DimLike): Dim {
  return typeof d === 'string' ? parseDim(d) : d;
}
