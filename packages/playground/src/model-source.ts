/**
 * A model file written in the page's editor, made into a model as `tessera run ./model.ts` makes
 * one: TypeScript stripped by sucrase (which keeps every line where it was; the columns are put
 * back here), evaluated as an ES module named `model.ts` (`//# sourceURL`), so that the DSL's
 * source lines and every stack frame of the user's code name the editor's lines, then checked and
 * built by models' model-file.ts, as the CLI does. `@tessera/graph-dsl` and `@tessera/models` are
 * the page's own copies (no network import).
 */
import * as graphDsl from '@tessera/graph-dsl';
import * as models from '@tessera/models';
import { type FileModel, loadError, ModelFileError, modelFromExports } from '@tessera/models';
import { transform } from 'sucrase';

/** The editor's file name, as the page shows it and as the CLI names the same file (`tessera compile model.ts`). */
export const EDITOR_FILE = 'model.ts';

/** What a model file may import in the page. */
export const PAGE_MODULES: Readonly<Record<string, object>> = { '@tessera/graph-dsl': graphDsl, '@tessera/models': models };

/**
 * One line as the transpiler left it, with spaces where it removed text (types, `as const`), so
 * that the code after keeps its column; the line as it is when the transpiler did more than remove.
 */
export function keepColumns(source: string, transpiled: string): string {
  if (transpiled.length >= source.length) return transpiled;
  let out = '';
  let j = 0;
  for (const ch of source.split('')) {
    if (j < transpiled.length && ch === transpiled[j]) {
      out += ch;
      j++;
    } else out += ch === '\t' ? '\t' : ' ';
  }
  return j === transpiled.length ? out : transpiled;
}

/** TypeScript to JavaScript, line for line and column for column; a syntax error names its line as a load error does. */
export function transpile(source: string, file = EDITOR_FILE): string {
  let code: string;
  try {
    code = transform(source, { transforms: ['typescript'], disableESTransforms: true }).code;
  } catch (e) {
    const { line, column } = (e as { loc?: { line: number; column: number } }).loc ?? {};
    const message = e instanceof Error ? e.message.replace(/ \(\d+:\d+\)$/, '') : String(e);
    throw new ModelFileError(`${file} could not be loaded: SyntaxError: ${message}${line ? ` (at ${file}:${line}:${column})` : ''}`);
  }
  const before = source.split('\n');
  return code
    .split('\n')
    .map((line, i) => keepColumns(before[i] ?? '', line))
    .join('\n');
}

const dataUrl = (code: string) => `data:text/javascript;charset=utf-8,${encodeURIComponent(code)}`;
const REGISTRY = Symbol.for('tessera.playground.modules');

/** A module that re-exports one of the page's modules (kept on globalThis under REGISTRY), by its names. */
function shimUrl(specifier: string, module: object): string {
  const names = Object.keys(module).filter((n) => n !== 'default');
  const registry = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= {}) as Record<string, object>;
  registry[specifier] = module;
  const from = `globalThis[Symbol.for(${JSON.stringify(REGISTRY.description)})][${JSON.stringify(specifier)}]`;
  return dataUrl(`const m = ${from};\nexport const { ${names.join(', ')} } = m;`);
}

// a static import or export ... from: the keyword at a line's start, the specifier in quotes
const IMPORT = /^(\s*(?:import|export)\b[^'"`;]*?\bfrom\s*|\s*import\s*)(['"])([^'"\n]+)\2/gm;

/** The module's imports pointed at the page's modules (each import stays on its line); another import is the user's error. */
export function linkImports(code: string, modules: Readonly<Record<string, object>>, file = EDITOR_FILE): string {
  return code.replace(IMPORT, (_whole: string, head: string, quote: string, specifier: string, offset: number) => {
    const module = modules[specifier];
    if (!module) {
      const line = code.slice(0, offset + head.length).split('\n').length;
      throw new ModelFileError(`${file}:${line}: imports '${specifier}', which the page does not have: a model here imports only ${Object.keys(modules).map((m) => `'${m}'`).join(' and ')} (a model of several files runs in the CLI)`);
    }
    return `${head}${quote}${shimUrl(specifier, module)}${quote}`;
  });
}

/** Evaluates JavaScript as the ES module `file` and returns its exports; an error while it loads is the user's, at their line. */
export async function evaluateModule(code: string, file = EDITOR_FILE, modules = PAGE_MODULES): Promise<Record<string, unknown>> {
  const linked = linkImports(code, modules, file);
  try {
    return (await import(/* @vite-ignore */ dataUrl(`${linked}\n//# sourceURL=${file}`))) as Record<string, unknown>;
  } catch (e) {
    throw loadError(file, e);
  }
}

/** The editor's source as a model: transpiled, evaluated and built with the `key=value` config, as `tessera run ./model.ts --config ...`. */
export async function loadSource(source: string, overrides: readonly string[] = [], file = EDITOR_FILE): Promise<FileModel> {
  return modelFromExports(file, await evaluateModule(transpile(source, file), file), overrides);
}

/** The editor line an error's text names (`model.ts:12:5`, `model.ts:12:`), if any. */
export function errorLine(text: string, file = EDITOR_FILE): number | undefined {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(?:^|[\\s(])${escaped}:(\\d+)\\b`).exec(text);
  return m ? Number(m[1]) : undefined;
}
