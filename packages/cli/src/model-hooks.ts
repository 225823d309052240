/**
 * Node module hooks for a model file given to the CLI (`tessera run ./my_model.ts`), registered by
 * `registerModelHooks` (model-file.ts) before the file is imported:
 * - its imports of `@tessera/*` resolve from the CLI's own location, so the file may sit in a bare
 *   folder and one instance of the DSL traces it (a second copy's Module would not be ours);
 * - a source file outside node_modules is an ES module unless its package.json says
 *   `"type": "commonjs"` (Node would take a bare folder's `.ts` for CommonJS, and the DSL's
 *   packages are ES modules).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ResolveContext {
  readonly parentURL?: string;
  readonly conditions: readonly string[];
  readonly importAttributes?: Readonly<Record<string, string>>;
}
interface Resolved {
  readonly url: string;
  readonly format?: string | null;
  readonly shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: ResolveContext) => Resolved | Promise<Resolved>;

const TESSERA_PACKAGE = /^@tessera\/[^/]+(\/.*)?$/;
const SOURCE = /\.(ts|mts|js|mjs)$/;

/** The `type` the package.json nearest to a file states, if any. */
function statedType(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: string }).type;
    } catch {
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

/** Whether a resolved file is the user's source, to load as an ES module. */
export function isUserModule(url: string): boolean {
  if (!url.startsWith('file:')) return false;
  const file = fileURLToPath(url);
  if (!SOURCE.test(file) || file.split(path.sep).includes('node_modules')) return false;
  return /\.m[tj]s$/.test(file) || statedType(file) !== 'commonjs';
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<Resolved> {
  if (TESSERA_PACKAGE.test(specifier)) return next(specifier, { ...context, parentURL: import.meta.url });
  const resolved = await next(specifier, context);
  return isUserModule(resolved.url) ? { ...resolved, format: 'module' } : resolved;
}
