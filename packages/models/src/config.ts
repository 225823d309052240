/** Model configs: PyTorch constructor argument names, with typed defaults that also type the parsing of `key=value`. */
export type ConfigValue = number | boolean | string | null | readonly number[];
export type Config = Readonly<Record<string, ConfigValue>>;

/** A config key's allowed values, when they are a fixed set. */
export type Choices = Readonly<Record<string, readonly string[]>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseValue(model: string, key: string, text: string, like: ConfigValue, choices?: readonly string[]): ConfigValue {
  const fail = (expected: string): never => {
    throw new ConfigError(`model '${model}': config ${key}=${text} is not valid: expected ${expected}`);
  };
  if (/^(none|null)$/i.test(text) && (like === null || typeof like === 'number')) return null;
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
  for (const [key, value] of entries) {
    if (!Object.hasOwn(defaults, key)) {
      throw new ConfigError(`model '${model}' has no config key '${key}'; its keys are: ${Object.keys(defaults).join(', ')}`);
    }
    out[key] = typeof value === 'string' ? parseValue(model, key, value, defaults[key]!, choices[key]) : value;
  }
  return out;
}
