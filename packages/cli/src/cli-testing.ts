/** The CLI in-process, for tests: its output, or the user error it reports (a bug rethrows). */
import { isUserError, main } from './main.ts';

export async function runCli(argv: readonly string[], log: (line: string) => void = () => {}): Promise<{ out?: string; error?: string }> {
  try {
    return { out: await main(argv, log) };
  } catch (e) {
    if (!isUserError(e)) throw e;
    return { error: e.message };
  }
}

/** The message of the user error a command reports; fails when it reports none. */
export async function userErrorOf(argv: readonly string[]): Promise<string> {
  const { error } = await runCli(argv);
  if (error === undefined) throw new Error(`no error for tessera ${argv.join(' ')}`);
  return error;
}
