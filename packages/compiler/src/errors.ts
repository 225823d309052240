import { sourceToString, type SourceRef } from '@tessera/graph-dsl';

/**
 * The compiler refused a graph: names the pass, the op, what went wrong and what was expected,
 * the operand types, and the line of the user's model that made the node. Reads like graph-dsl's
 * OpError, so a shape problem found late (after binding sizes) looks like one found while tracing.
 */
export class CompileError extends Error {
  constructor(
    readonly pass: string,
    readonly op: string,
    readonly reason: string,
    readonly operands: string,
    readonly source: SourceRef | undefined,
  ) {
    super(`${op}: ${reason}; operands ${operands || '(none)'}${source ? `, at ${sourceToString(source)}` : ''} (compiler pass ${pass})`);
    this.name = 'CompileError';
  }
}
