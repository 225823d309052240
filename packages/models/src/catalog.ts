import { ATTENTION_MODELS } from './attention/catalog.ts';
import { TRANSFORMER_MODELS } from './transformer/catalog.ts';
import { VISION_MODELS } from './vision/catalog.ts';
import { type Config, ConfigError, resolveConfig } from './config.ts';
import type { BuiltModel, CatalogEntry } from './entry.ts';

/** Every model, by chapter of the article. */
export const CATALOG: readonly CatalogEntry[] = [...ATTENTION_MODELS, ...TRANSFORMER_MODELS, ...VISION_MODELS];

export function findModel(name: string): CatalogEntry {
  const entry = CATALOG.find((e) => e.name === name);
  if (!entry) throw new ConfigError(`unknown model '${name}'; the catalog has: ${CATALOG.map((e) => e.name).join(', ')}`);
  return entry;
}

/** Looks a model up and builds it with `key=value` overrides of its defaults. */
export function buildModel(name: string, overrides: readonly string[] | Config = []): { entry: CatalogEntry; config: Config; built: BuiltModel } {
  const entry = findModel(name);
  const config = resolveConfig(name, entry.defaults, entry.choices, overrides);
  return { entry, config, built: entry.build(config) };
}
