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

const HERE = (import.meta.url.startsWith('file:') ? urlToPath(import.meta.url) : import.meta.url).replace(/[?#].*$/, '');
// run as its own files (src/, dist/, a dev server) the DSL is this folder; bundled (the playground's build), the chunk it is in
const DSL = /\/source\.[jt]s$/.test(HERE) ? dirname(HERE) : HERE;

// a path, a file:// or http(s):// URL, or a bare name (code evaluated with //# sourceURL=model.ts), then line and column
const FRAME = /\(?((?:[a-z][\w+.-]*:\/\/[^/\s()]*)?[^\s()<>:]+):(\d+):(\d+)\)?$/;

/** A stack frame's file (a path, or a URL other than file://), line and column. */
export function parseFrame(frame: string): { file: string; line: number; column: number } | undefined {
  const m = FRAME.exec(frame.trim());
  if (!m) return undefined;
  return { file: m[1]!.startsWith('file://') ? urlToPath(m[1]!) : m[1]!, line: Number(m[2]), column: Number(m[3]) };
}

/** The first stack frame outside this package: the line of the user's model that called the op. */
export function callerLocation(): { file: string; line: number; column: number } | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50; // the DSL's own frames come first and may be many
  const stack = new Error().stack?.split('\n') ?? [];
  Error.stackTraceLimit = limit;
  for (const frame of stack.slice(1)) {
    const at = parseFrame(frame);
    if (!at) continue;
    const insideDsl = at.file.startsWith(DSL) && !at.file.endsWith('.test.ts');
    if (insideDsl || at.file.includes('/node_modules/')) continue;
    const cwd = workingDirectory();
    return at.file.startsWith('/') && cwd ? { ...at, file: relativePath(cwd, at.file) || at.file } : at;
  }
  return undefined;
}
