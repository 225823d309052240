/**
 * A model of the user's own, from a file given in place of a catalog name
 * (`tessera run ./my_model.ts`): an ES module (.ts, .mts, .js or .mjs) imported here, its exports
 * checked and built by models' model-file.ts (which the playground's editor shares).
 */
import { existsSync, statSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type FileModel, loadError, ModelFileError, modelFromExports } from '@tessera/models';

const MODEL_FILE = /\.(ts|mts|js|mjs)$/;

/** A MODEL argument names a file (rather than a catalog name) when it ends like a script. */
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

/** Imports a model file (with `registerModelHooks` done, outside tests) and builds its Module with the `key=value` config (models' model-file.ts checks its exports). */
export async function loadModelFile(file: string, overrides: readonly string[]): Promise<FileModel> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new ModelFileError(`${file}: no such model file (a MODEL is a catalog name, see tessera list, or a .ts/.js/.mjs file)`);
  if (!statSync(absolute).isFile()) throw new ModelFileError(`${file} is not a file`);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (e) {
    throw loadError(file, e, absolute);
  }
  return modelFromExports(file, exports, overrides, absolute);
}
