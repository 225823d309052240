/**
 * Where the user's model called an op, read from the stack. Pure string work (no Node modules),
 * so the DSL runs in a browser too; paths are shown relative to the working directory in Node.
 */

/** A `file://` URL as a path (POSIX, or `C:/...` on Windows). */
function urlToPath(url: string): string {
  const p = decodeURIComponent(url.replace(/^file:\/\/[^/]*/, ''));
  return /^\/[A-Za-z]:\//.test(p) ? p.slice(1) : p;
}

function dirname(file: string): string {
  const i = file.lastIndexOf('/');
  return i <= 0 ? '/' : file.slice(0, i);
}

/** `path.relative(from, to)` for absolute POSIX paths. */
export function relativePath(from: string, to: string): string {
  const a = from.split('/').filter(Boolean);
  const b = to.split('/').filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => '..'), ...b.slice(common)].join('/');
}

function workingDirectory(): string | undefined {
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  try {
    return proc?.cwd?.();
  } catch {
    return undefined;
  }
}

const DSL_DIR = dirname(import.meta.url.startsWith('file:') ? urlToPath(import.meta.url) : import.meta.url);

/** The first stack frame outside this package: the line of the user's model that called the op. */
export function callerLocation(): { file: string; line: number; column: number } | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50; // the DSL's own frames come first and may be many
  const stack = new Error().stack?.split('\n') ?? [];
  Error.stackTraceLimit = limit;
  for (const frame of stack.slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/.exec(frame.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? urlToPath(m[1]!) : m[1]!;
    const insideDsl = file.startsWith(DSL_DIR) && !file.endsWith('.test.ts');
    if (insideDsl || file.includes('/node_modules/')) continue;
    const cwd = workingDirectory();
    return { file: (cwd && relativePath(cwd, file)) || file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}
