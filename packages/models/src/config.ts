/** Model configs: PyTorch constructor argument names, with typed defaults that also type the parsing of `key=value`. */
import { ConfigError, toDim } from '@tessera/graph-dsl';
export type ConfigValue = number | boolean | string | null | readonly number[];
export type Config = Readonly<Record<string, ConfigValue>>;

/** A config key's allowed values, when they are a fixed set. */
export type Choices = Readonly<Record<string, readonly string[]>>;

export { ConfigError };

function parseValue(model: string, key: string, text: string, like: ConfigValue, choices?: readonly string[]): ConfigValue {
  const fail = (expected: string): never => {
    throw new ConfigError(`model '${model}': config ${key}=${text} is not valid: expected ${expected}`);
  };
  // none only where the default is none (kdim, vdim): a size of none would reach the model as null
  if (/^(none|null)$/i.test(text) && like === null) return null;
  if (choices) return choices.includes(text) ? text : fail(`one of ${choices.join(', ')}`);
  if (typeof like === 'boolean') return /^(true|1)$/i.test(text) ? true : /^(false|0)$/i.test(text) ? false : fail('true or false');
  if (typeof like === 'number' || like === null) {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : fail('a number');
  }
  if (Array.isArray(like)) {
    const items = text.replace(/^\[|\]$/g, '').split(',').map((s) => Number(s.trim()));
    return items.every(Number.isFinite) && items.length > 0 ? items : fail('a list of numbers like 2,2,6,2');
  }
  return text;
}

/** A config value as `key=value` text writes it (a list as `2,2,6,2`, none as null): what resolveConfig parses back. */
export const configValueText = (v: ConfigValue): string => (Array.isArray(v) ? v.join(',') : String(v));

/** A config as the CLI's `key=value` words. */
export const configWords = (config: Config): string[] => Object.entries(config).map(([k, v]) => `${k}=${configValueText(v)}`);

/**
 * Applies `key=value` overrides (or an object of values) to a model's defaults; an unknown key
 * or a value of the wrong kind is a ConfigError that lists what the model takes.
 */
export function resolveConfig(model: string, defaults: Config, choices: Choices, overrides: readonly string[] | Config = []): Config {
  const entries: [string, ConfigValue | string][] = Array.isArray(overrides)
    ? (overrides as readonly string[]).map((kv) => {
        const i = kv.indexOf('=');
        if (i <= 0) throw new ConfigError(`model '${model}': config '${kv}' must be written key=value`);
        return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
      })
    : Object.entries(overrides as Config);
  const out: Record<string, ConfigValue> = { ...defaults };
  const given = new Map<string, ConfigValue | string>();
  for (const [key, value] of entries) {
    if (given.has(key)) throw new ConfigError(`model '${model}': config key ${key} is given twice (${String(given.get(key))} and ${String(value)}); give it once`);
    given.set(key, value);
    if (!Object.hasOwn(defaults, key)) {
      throw new ConfigError(`model '${model}' has no config key '${key}'; its keys are: ${Object.keys(defaults).join(', ')}`);
    }
    out[key] = typeof value === 'string' ? parseValue(model, key, value, defaults[key]!, choices[key]) : value;
    checkRange(model, key, out[key]!, defaults[key]!);
    if (typeof defaults[key] === 'string' && !choices[key]) checkDim(model, key, out[key]!);
  }
  return out;
}

/** A size given by name (batch=B, tgt_len=T+1) must be a dim the DSL reads: a whole number or a symbol expression. */
function checkDim(model: string, key: string, value: ConfigValue): void {
  try {
    toDim(String(value));
  } catch (e) {
    throw new ConfigError(`model '${model}': config ${key}=${String(value)} is not valid: expected a size, a whole number or a symbol like B or T+1 (${(e as Error).message})`);
  }
}

/** The largest size a config takes: beyond it a model would not fit in memory anyway (embed_dim=1e9). */
export const MAX_SIZE = 1 << 16;

/**
 * Every number of a config in its range, before anything is built: probabilities (dropout, ...)
 * in [0, 1), positive factors (eps, mlp_ratio), and sizes and counts (widths, heads, layers, image
 * and window sizes, and a batch or length given as a number) whole numbers from 1 to MAX_SIZE.
 */
function checkRange(model: string, key: string, value: ConfigValue, like: ConfigValue): void {
  const fail = (expected: string): never => {
    throw new ConfigError(`model '${model}': config ${key}=${Array.isArray(value) ? value.join(',') : String(value)} is not valid: expected ${expected}`);
  };
  const values = Array.isArray(value) ? value : typeof value === 'number' ? [value] : typeof value === 'string' && typeof like === 'string' && /^[-+\d.eE]+$/.test(value) ? [Number(value)] : [];
  for (const v of values) {
    if (!Number.isFinite(v)) fail('a finite number');
    if (/dropout|prob|smoothing/.test(key)) {
      if (!(v >= 0 && v < 1)) fail('a probability from 0 up to (not including) 1');
    } else if (/eps|ratio|scale/.test(key)) {
      if (!(v > 0)) fail('a number above 0');
    } else if (!Number.isInteger(v) || v < 1 || v > MAX_SIZE) fail(`a whole number from 1 to ${MAX_SIZE}`);
  }
}
