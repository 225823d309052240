/** A parsed command line: the command, its positional words, and --options (repeatable ones collect). */
export interface Args {
  readonly command: string | undefined;
  readonly positional: readonly string[];
  readonly options: ReadonlyMap<string, readonly string[]>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Flags that take no value. */
const SWITCHES = new Set(['json', 'help', 'dump', 'external-data', 'check', 'explain', 'no-fuse', 'overwrite']);

export function parseArgs(argv: readonly string[]): Args {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('--')) {
      positional.push(word);
      continue;
    }
    const [name, inline] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const values = options.get(name) ?? [];
    if (SWITCHES.has(name)) values.push(inline ?? 'true');
    else if (inline !== undefined) values.push(inline);
    else {
      // --config takes every key=value word that follows it.
      if (name === 'config') {
        while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) values.push(argv[++i]!);
        if (values.length === 0) throw new UsageError('--config needs key=value pairs');
      } else {
        const value = argv[++i];
        if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
        values.push(value);
      }
    }
    // an option given twice would silently take the last value: say so instead (--config collects its pairs)
    if (name !== 'config' && values.length > 1) throw new UsageError(`--${name} is given twice (${values.map((v) => JSON.stringify(v)).join(' and ')}); give it once`);
    options.set(name, values);
  }
  const [command, ...rest] = positional;
  return { command, positional: rest, options };
}

export function option(args: Args, name: string): string | undefined {
  return args.options.get(name)?.at(-1);
}

export function requireOption(args: Args, name: string, what: string): string {
  const v = option(args, name);
  if (v === undefined) throw new UsageError(`tessera ${args.command} needs --${name} ${what}`);
  return v;
}

export function flag(args: Args, name: string): boolean {
  return option(args, name) === 'true';
}

/** Rejects options the command does not know, so that a typo is not silently ignored. */
export function expectOptions(args: Args, known: readonly string[]): void {
  for (const name of args.options.keys()) {
    if (!known.includes(name)) throw new UsageError(`tessera ${args.command} has no option --${name}; it takes ${known.map((k) => `--${k}`).join(', ')}`);
  }
}
