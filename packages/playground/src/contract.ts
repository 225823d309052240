/**
 * The automation contract: `index.html?model=NAME&config=k=v;k=v&seed=S&run=1` compiles NAME,
 * runs it on the seeded random inputs of `tessera run NAME --random-inputs S`, and writes a
 * summary of the outputs as JSON into `#result`.
 */
import type { HostTensor } from '@tessera/graph-dsl';

export interface Request {
  readonly model: string;
  /** The CLI's `key=value` words (`;` between pairs in the URL, `,` inside a list value). */
  readonly config: readonly string[];
  readonly seed: number;
  /** Run after compiling (`run=1`); otherwise the page only compiles. */
  readonly run: boolean;
}

/** A request for the contract's page, or undefined when the URL names no model (the page opens for people). */
export function parseRequest(search: string): Request | undefined {
  const params = new URLSearchParams(search);
  const model = params.get('model');
  if (model === null) return undefined;
  return { model, config: configWords(params.get('config') ?? ''), seed: parseSeed(params.get('seed') ?? '0'), run: params.get('run') === '1' };
}

/** A seed as `tessera run --random-inputs` takes it (the same check and words). */
export function parseSeed(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new RequestError(`seed=${text}: expected a seed, a whole number from 0`);
  return Number(text);
}

/** `k=v;k=v` as the CLI's words. */
export const configWords = (text: string): string[] => text.split(';').map((kv) => kv.trim()).filter((kv) => kv !== '');

/** The URL of a request, for the page's own links. */
export function requestSearch({ model, config, seed, run }: Request): string {
  return `?${new URLSearchParams({ model, config: config.join(';'), seed: String(seed), ...(run ? { run: '1' } : {}) })}`;
}

export class RequestError extends Error {
  override readonly name = 'RequestError';
}

export interface OutputSummary {
  readonly shape: readonly number[];
  readonly sum: number;
  readonly first: readonly number[];
}

export interface RunResult {
  readonly model: string;
  readonly backend: string;
  readonly fusions: Readonly<Record<string, number>>;
  readonly outputs: Readonly<Record<string, OutputSummary>>;
}

/** Each output's shape, the sum of its values and its first 8 values. */
export function summarizeOutputs(outputs: Readonly<Record<string, HostTensor>>): Record<string, OutputSummary> {
  return Object.fromEntries(
    Object.entries(outputs).map(([name, t]) => {
      let sum = 0;
      for (const v of t.data) sum += v;
      return [name, { shape: [...t.shape], sum, first: Array.from(t.data.subarray(0, 8)) }];
    }),
  );
}

/** Errors that say what the user got wrong (the CLI's USER_ERRORS, less the file ones a page cannot meet); anything else is a bug. */
const JS_ERRORS = new Set(['Error', 'TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError']);

/** What the CLI prints for an error, without its `error: ` prefix: the message of a user error, else an internal error with its stack. */
export function errorText(e: unknown): string {
  if (e instanceof Error && !JS_ERRORS.has(e.name)) return e.message;
  return `internal error (a bug in Tessera, please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
}
