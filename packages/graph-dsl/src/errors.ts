import type { SourceRef } from './ir.ts';

export function sourceToString(source: SourceRef | undefined): string {
  if (!source) return '';
  return `${source.file}:${source.line}:${source.column}${source.scope ? ` in ${source.scope}` : ''}`;
}

/** An op refused its operands: names the op, the operand types, what was expected and where the user wrote it. */
export class OpError extends Error {
  constructor(
    readonly op: string,
    readonly reason: string,
    readonly operands: string,
    readonly source: SourceRef | undefined,
  ) {
    super(`${op}: ${reason}; operands ${operands}${source ? `, at ${sourceToString(source)}` : ''}`);
    this.name = 'OpError';
  }
}

/** A module or model was given arguments it cannot be built from (sizes that do not divide, an unknown choice). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
