/**
 * A model of the user's own, from a model file's exports: what the CLI takes in place of a catalog
 * name (`tessera run ./my_model.ts`) and what the playground's editor evaluates. Pure (no Node
 * modules): the CLI imports the file, the page evaluates its source, and both build it here.
 * - the default export is a Module (an instance, its class, or a function of the config returning one);
 * - `inputs` maps each input name to `{ dtype, shape }` (or is a function of the config returning that);
 * - optional: `outputs`, the output names; `config`, the defaults of its `--config` keys.
 *
 * `file` is the name messages show (as the user gave it); `frameFile` is how a stack frame names the
 * file's code (the CLI: its absolute path; the page: the `//# sourceURL` of the evaluated code).
 */
import { type DType, type Graph, type InputSpec, Module, parseFrame, toDim, trace, type Traceable } from '@tessera/graph-dsl';
import { type Config, type ConfigValue, resolveConfig } from './config.ts';

/** The model file does not give what the CLI needs: says which export is wrong and how to write it. */
export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}

/** A model built from a model file, before tracing. */
export interface FileModel {
  /** The file as given. */
  readonly name: string;
  readonly config: Config;
  readonly module: Module & Traceable;
  readonly inputs: Readonly<Record<string, InputSpec>>;
  readonly outputs?: readonly string[];
}

const DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];
const INPUTS_EXAMPLE = "export const inputs = { x: { dtype: 'float32', shape: ['B', 'T', 64] } }";

/** JavaScript's own errors: thrown in Tessera's code they are its bugs, thrown in the user's code theirs. */
export const JS_ERRORS = new Set(['Error', 'TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError']);

/** An error's stack frames, innermost first: file and `line:column`. */
function stackFrames(e: Error): { file: string; at: string }[] {
  return (e.stack ?? '').split('\n').flatMap((line) => {
    const f = / at /.test(line) ? parseFrame(line) : undefined;
    return f ? [{ file: f.file, at: `${f.line}:${f.column}` }] : [];
  });
}

/** The `line:column` of the innermost frame in the file, if the error passed through it. */
export function frameIn(e: unknown, frameFile: string): string | undefined {
  return e instanceof Error ? stackFrames(e).find((f) => f.file === frameFile)?.at : undefined;
}

/**
 * An error thrown while a model file's code ran (its import, its factory, its forward) as the
 * user's error naming their line, or undefined when it is Tessera's: a JavaScript error thrown
 * outside their file, or an error that never passed through it.
 */
export function userFault(e: unknown, file: string, doing: string, frameFile = file): ModelFileError | undefined {
  if (!(e instanceof Error)) return undefined;
  const frames = stackFrames(e);
  const theirs = frames.find((f) => f.file === frameFile);
  if (!theirs || (JS_ERRORS.has(e.name) && frames[0]?.file !== frameFile)) return undefined;
  // PyTorch habits: calling a module (m(x)) or a method under its torch name
  const hint = e instanceof TypeError && / is not a function/.test(e.message) ? "; a module runs as m.forward(x), and graph-dsl's README lists each PyTorch name's Tessera name" : '';
  return new ModelFileError(`${file}:${theirs.at}: ${e.name}: ${e.message} (${doing}${hint})`);
}

/** The file's code failed to load (a syntax error, an import that is not there, an error its top level threw): all the file's. */
export function loadError(file: string, e: unknown, frameFile = file): ModelFileError {
  const at = frameIn(e, frameFile);
  return new ModelFileError(`${file} could not be loaded: ${e instanceof Error ? e.message : String(e)}${at ? ` (at ${file}:${at})` : ''}`);
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? `an object (${Object.keys(v).join(', ') || 'no keys'})` : `${typeof v} ${String(v)}`);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTraceable = (v: unknown): v is Module & Traceable => v instanceof Module && typeof (v as Partial<Traceable>).forward === 'function';

/** Checks `inputs`: each entry's dtype and each dim (a whole number or a symbol expression like 'B' or 'T+1'). */
export function checkInputs(file: string, value: unknown): Record<string, InputSpec> {
  const fail = (what: string): never => {
    throw new ModelFileError(`${file}: ${what}; write it like ${INPUTS_EXAMPLE}`);
  };
  if (value === undefined) fail('has no `inputs` export naming the inputs of forward');
  if (!isRecord(value) || Object.keys(value).length === 0) fail(`\`inputs\` must map each input name to { dtype, shape }, got ${describe(value)}`);
  for (const [name, spec] of Object.entries(value as Record<string, unknown>)) {
    const where = `inputs.${name}`;
    if (!isRecord(spec)) fail(`${where} must be { dtype, shape }, got ${describe(spec)}`);
    const { dtype, shape } = spec as Record<string, unknown>;
    if (!DTYPES.includes(dtype as DType)) fail(`${where}.dtype must be one of ${DTYPES.join(', ')}, got ${describe(dtype)}`);
    if (!Array.isArray(shape)) fail(`${where}.shape must be an array of dims, got ${describe(shape)}`);
    (shape as unknown[]).forEach((d, i) => {
      const bad = `${where}.shape[${i}] must be a whole number or a symbol like 'B' or 'T+1', got ${describe(d)}`;
      if (typeof d === 'number' && !(Number.isInteger(d) && d >= 0)) fail(bad);
      if (typeof d !== 'number' && typeof d !== 'string') fail(bad);
      if (typeof d === 'string') {
        try {
          toDim(d);
        } catch (e) {
          fail(`${bad} (${(e as Error).message})`);
        }
      }
    });
  }
  return value as Record<string, InputSpec>;
}

/** The Module the default export gives: an instance, a class to construct, or a function of the config to call. */
async function moduleOf(file: string, exported: unknown, config: Config): Promise<Module & Traceable> {
  const expected = 'export default a Module (an instance, its class, or a function returning one)';
  if (exported === undefined) throw new ModelFileError(`${file} has no default export: ${expected}`);
  const value: unknown =
    typeof exported === 'function' ? (exported.prototype instanceof Module ? new (exported as new (c: Config) => unknown)(config) : await (exported as (c: Config) => unknown)(config)) : exported;
  if (isTraceable(value)) return value;
  // a Module from another copy of the DSL has the methods but is not ours: tracing it would fail far from here
  const lookalike = typeof (value as Partial<Module> | null)?.namedParameters === 'function';
  throw new ModelFileError(
    lookalike
      ? `${file}: the default export is a Module of another copy of @tessera/graph-dsl; import the DSL as '@tessera/graph-dsl' (the CLI serves its own)`
      : `${file}: the default export ${typeof exported === 'function' ? 'returned' : 'is'} ${describe(value)}, not a Module with a forward method: ${expected}`,
  );
}

function checkOutputs(file: string, value: unknown): readonly string[] | undefined {
  if (value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) return value;
  throw new ModelFileError(`${file}: \`outputs\` must be the output names, like export const outputs = ['logits'], got ${describe(value)}`);
}

function checkConfig(file: string, value: unknown): Config {
  if (value === undefined) return {};
  const plain = (v: unknown): v is ConfigValue => ['number', 'boolean', 'string'].includes(typeof v) || v === null || (Array.isArray(v) && v.every((n) => typeof n === 'number'));
  if (isRecord(value) && Object.values(value).every(plain)) return value as Config;
  throw new ModelFileError(`${file}: \`config\` must map each --config key to its default (a number, boolean, string, null or list of numbers), got ${describe(value)}`);
}

/** Builds a model file's Module from its exports with the `key=value` config, checking each export. */
export async function modelFromExports(file: string, exports: Readonly<Record<string, unknown>>, overrides: readonly string[], frameFile = file): Promise<FileModel> {
  if (exports.config === undefined && overrides.length) throw new ModelFileError(`${file} takes no --config (${overrides.join(' ')}): to take some, export const config = { key: default, ... } and export default a function of the config`);
  const config = resolveConfig(file, checkConfig(file, exports.config), {}, overrides);
  let module: Module & Traceable;
  try {
    module = await moduleOf(file, exports.default, config);
  } catch (e) {
    throw e instanceof ModelFileError ? e : (userFault(e, file, 'while building the model', frameFile) ?? e);
  }
  let given: unknown = exports.inputs;
  try {
    if (typeof given === 'function') given = (given as (c: Config) => unknown)(config);
  } catch (e) {
    throw userFault(e, file, 'while computing its inputs', frameFile) ?? e;
  }
  const inputs = checkInputs(file, given);
  const arity = module.forward.length;
  if (arity > Object.keys(inputs).length) throw new ModelFileError(`${file}: forward takes ${arity} inputs but \`inputs\` names ${Object.keys(inputs).length} (${Object.keys(inputs).join(', ')}): name one per argument, in order`);
  return { name: file, config, module, inputs, outputs: checkOutputs(file, exports.outputs) };
}

/**
 * Traces a model file's Module. A plain JavaScript error thrown in the file's own code (calling a
 * method the DSL lacks, say) is the user's to fix: it becomes a ModelFileError naming their line;
 * Tessera's own user errors (an OpError at the user's line) say it already.
 */
export function traceFileModel(model: FileModel, frameFile = model.name): Graph {
  try {
    return trace(model.module, model.inputs, model.outputs);
  } catch (e) {
    if (e instanceof Error && !JS_ERRORS.has(e.name)) throw e;
    throw userFault(e, model.name, 'while tracing forward', frameFile) ?? e;
  }
}
