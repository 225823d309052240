/** Training that Ctrl-C ends cleanly: the step in progress finishes, a checkpoint is written, the command says how to resume. */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { FileError } from '@tessera/graph-dsl/node';
import { UsageError } from './args.ts';

/**
 * Runs `work` with SIGINT and SIGTERM caught: `stopRequested()` turns true on the first one, so
 * that the work can stop after its current step; a second one exits at once.
 */
export async function untilInterrupted<T>(work: (stopRequested: () => boolean) => Promise<T>): Promise<T> {
  let stop = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // a second one quits at once (temp files of a write in progress are removed by their own handler)
    if (stop) process.exit(signal === 'SIGINT' ? 130 : 143);
    stop = true;
    process.stderr.write(`\n${signal}: stopping after this step and writing a checkpoint (again to quit at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(() => stop);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Checks the checkpoint directory before the first step: it is a directory (made if missing) that
 * can be written, and it does not hold a checkpoint that this run would overwrite unasked.
 */
export function prepareCheckpointDir(dir: string, { resuming, overwrite, marker }: { resuming: boolean; overwrite: boolean; marker: string }): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new FileError(`--checkpoint ${dir} is a file, not a directory`);
  if (existsSync(path.join(dir, marker)) && !resuming && !overwrite) {
    throw new UsageError(`--checkpoint ${dir} holds a trained checkpoint (${marker}): continue it with --resume ${dir}, or pass --overwrite to replace it`);
  }
  try {
    makeDirectories(path.resolve(dir));
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new FileError(`cannot write the checkpoint in ${dir}: ${(e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync spins forever where a level cannot be
 * made (/proc/x), this fails there with the level's own error.
 */
function makeDirectories(dir: string): void {
  if (existsSync(dir)) return;
  makeDirectories(path.dirname(dir));
  mkdirSync(dir);
}
