/**
 * A model of the user's own, from a file given in place of a catalog name
 * (`tessera run ./my_model.ts`). The file is an ES module (.ts, .mts, .js or .mjs):
 * - its default export is a Module (an instance, its class, or a function of the config returning one);
 * - `inputs` maps each input name to `{ dtype, shape }` (or is a function of the config returning that);
 * - optional: `outputs`, the output names; `config`, the defaults of its `--config` keys.
 */
import { existsSync, statSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type DType, type InputSpec, Module, toDim, type Traceable } from '@tessera/graph-dsl';
import { type Config, type ConfigValue, resolveConfig } from '@tessera/models';
import type { ModelSource } from './model.ts';

/** The model file does not give what the CLI needs: says which export is wrong and how to write it. */
export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}

const MODEL_FILE = /\.(ts|mts|js|mjs)$/;
const DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];
const INPUTS_EXAMPLE = "export const inputs = { x: { dtype: 'float32', shape: ['B', 'T', 64] } }";

/** A MODEL argument names a file (rather than a catalog model) when it ends like a script. */
export function isModelFile(name: string): boolean {
  return MODEL_FILE.test(name);
}

/**
 * Registers the module hooks that let a model file sit anywhere and import `@tessera/*`
 * (model-hooks.ts), and TypeScript through tsx unless the CLI itself already runs on it
 * (the repository's bin does; the built one does not).
 */
export async function registerModelHooks(): Promise<void> {
  const fromSource = import.meta.url.endsWith('.ts');
  register(new URL(fromSource ? './model-hooks.ts' : './model-hooks.js', import.meta.url));
  if (!fromSource) (await import('tsx/esm/api')).register();
}

/** JavaScript's own errors: thrown in Tessera's code they are its bugs, thrown in the user's code theirs. */
export const JS_ERRORS = new Set(['Error', 'TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError']);
const FRAME = /(?:file:\/\/)?(\/[^():]+):(\d+):(\d+)\)?$/;

/** An error's stack frames, innermost first: file path and `line:column`. */
function stackFrames(e: Error): { file: string; at: string }[] {
  return (e.stack ?? '').split('\n').flatMap((line) => {
    const m = / at /.test(line) ? FRAME.exec(line.trim()) : null;
    return m ? [{ file: decodeURIComponent(m[1]!), at: `${m[2]}:${m[3]}` }] : [];
  });
}

/**
 * An error thrown while a model file's code ran (its import, its factory, its forward) as the
 * user's error naming their line, or undefined when it is Tessera's: a JavaScript error thrown
 * outside their file, or an error that never passed through it.
 */
export function userFault(e: unknown, file: string, doing: string): ModelFileError | undefined {
  if (!(e instanceof Error)) return undefined;
  const frames = stackFrames(e);
  const absolute = path.resolve(file);
  const theirs = frames.find((f) => f.file === absolute);
  if (!theirs || (JS_ERRORS.has(e.name) && frames[0]?.file !== absolute)) return undefined;
  // PyTorch habits: calling a module (m(x)) or a method under its torch name
  const hint = e instanceof TypeError && / is not a function/.test(e.message) ? "; a module runs as m.forward(x), and graph-dsl's README lists each PyTorch name's Tessera name" : '';
  return new ModelFileError(`${file}:${theirs.at}: ${e.name}: ${e.message} (${doing}${hint})`);
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

/** Imports a model file (with `registerModelHooks` done, outside tests) and builds its Module with the `key=value` config. */
export async function loadModelFile(file: string, overrides: readonly string[]): Promise<ModelSource> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new ModelFileError(`${file}: no such model file (a MODEL is a catalog name, see tessera list, or a .ts/.js/.mjs file)`);
  if (!statSync(absolute).isFile()) throw new ModelFileError(`${file} is not a file`);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (e) {
    // a syntax error, an import that is not there, or an error its top level threw: all the file's
    const at = e instanceof Error ? stackFrames(e).find((f) => f.file === absolute) : undefined;
    throw new ModelFileError(`${file} could not be loaded: ${e instanceof Error ? e.message : String(e)}${at ? ` (at ${file}:${at.at})` : ''}`);
  }
  if (exports.config === undefined && overrides.length) throw new ModelFileError(`${file} takes no --config (${overrides.join(' ')}): to take some, export const config = { key: default, ... } and export default a function of the config`);
  const config = resolveConfig(file, checkConfig(file, exports.config), {}, overrides);
  let module: Module & Traceable;
  try {
    module = await moduleOf(file, exports.default, config);
  } catch (e) {
    throw e instanceof ModelFileError ? e : (userFault(e, file, 'while building the model') ?? e);
  }
  let given: unknown = exports.inputs;
  try {
    if (typeof given === 'function') given = (given as (c: Config) => unknown)(config);
  } catch (e) {
    throw userFault(e, file, 'while computing its inputs') ?? e;
  }
  const inputs = checkInputs(file, given);
  const arity = module.forward.length;
  if (arity > Object.keys(inputs).length) throw new ModelFileError(`${file}: forward takes ${arity} inputs but \`inputs\` names ${Object.keys(inputs).length} (${Object.keys(inputs).join(', ')}): name one per argument, in order`);
  return { name: file, config, module, inputs, outputs: checkOutputs(file, exports.outputs) };
}
