import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DSL_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The first stack frame outside this package: the line of the user's model that called the op. */
export function callerLocation(): { file: string; line: number; column: number } | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50; // the DSL's own frames come first and may be many
  const stack = new Error().stack?.split('\n') ?? [];
  Error.stackTraceLimit = limit;
  for (const frame of stack.slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/.exec(frame.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    const insideDsl = file.startsWith(DSL_DIR) && !file.endsWith('.test.ts');
    if (insideDsl || file.includes('/node_modules/')) continue;
    return { file: path.relative(process.cwd(), file) || file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}
