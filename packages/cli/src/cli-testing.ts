/** Test helpers: the CLI in-process, and a command in a child process. */
import { spawn, type SpawnOptions } from 'node:child_process';
import { isUserError, main } from './main.ts';

export interface ProcessResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to its end without blocking the test's thread (spawnSync of a long command, such
 * as TypeDoc, starves vitest's worker of its RPC replies and fails the run with "Timeout calling
 * onTaskUpdate").
 */
export function runProcess(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

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
