/** Writing files so that a failure never leaves a half-written file at the target path. */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, rmSync, type Stats, statSync, writeSync } from 'node:fs';
import path from 'node:path';

/** A file could not be written (or read): names the path and what the system said, in words. */
export class FileError extends Error {
  override readonly name = 'FileError';
}

/**
 * Temp files being written. A process interrupted (SIGINT, SIGTERM) before their rename removes
 * them: an interrupted export of a large model must not leave a gigabyte hidden beside the target.
 * Process-wide by nature, as signals are.
 */
const pendingTemps = new Set<string>();
let signalsWatched = false;

function removePendingTemps(signal: NodeJS.Signals): void {
  for (const temp of pendingTemps) rmSync(temp, { force: true });
  pendingTemps.clear();
  // the default action (exit) is ours to restore when no one else handles the signal
  if (process.listenerCount(signal) === 1) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
}

/** A fresh temp name beside `target` (so that the final rename stays on one file system), removed on SIGINT/SIGTERM until `releaseTemp`. */
export function tempPathFor(target: string): string {
  if (!signalsWatched) {
    signalsWatched = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, removePendingTemps);
  }
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  pendingTemps.add(temp);
  return temp;
}

/** The temp file was renamed into place or removed: an interruption need not remove it any more. */
export function releaseTemp(temp: string): void {
  pendingTemps.delete(temp);
}

function kindOf(stats: Stats): string {
  return stats.isDirectory() ? 'a directory'
    : stats.isSymbolicLink() ? 'a symbolic link'
    : stats.isCharacterDevice() ? 'a character device'
    : stats.isBlockDevice() ? 'a block device'
    : stats.isFIFO() ? 'a named pipe'
    : stats.isSocket() ? 'a socket'
    : 'not a regular file';
}

/**
 * Refuses to write `target` unless it is absent or a regular file: a rename over a device, a
 * symbolic link or a directory would replace it (`--onnx /dev/null` would replace /dev/null).
 */
export function checkWritableTarget(target: string): void {
  if (!target) throw new FileError('no file was named (empty path)');
  let stats: Stats;
  try {
    stats = lstatSync(target);
  } catch {
    if (!existsSync(path.dirname(path.resolve(target)))) throw new FileError(`cannot write ${target}: its directory does not exist`);
    return;
  }
  if (!stats.isFile()) throw new FileError(`refusing to write ${target}: it is ${kindOf(stats)}, not a regular file, and writing would replace it (name a regular file or a new one)`);
}

/** Device and inode of an existing file (through links), or undefined. */
function identity(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a command's outputs that are one of its inputs (the same file under another name, a
 * hard link or a symbolic link to it included), or that are not regular files: writing would
 * destroy the input. `inputs` and `outputs` map an option name to a path.
 */
export function checkOutputs(outputs: Readonly<Record<string, string | undefined>>, inputs: Readonly<Record<string, string | undefined>>): void {
  for (const [option, file] of Object.entries(outputs)) {
    if (file === undefined) continue;
    checkWritableTarget(file);
    const id = identity(file);
    for (const [inputOption, input] of Object.entries(inputs)) {
      if (input === undefined) continue;
      const same = (id !== undefined && id === identity(input)) || path.resolve(file) === path.resolve(input) || realpathOr(file) === realpathOr(input);
      if (same) throw new FileError(`refusing to write ${option} ${file}: it is the ${inputOption} file ${input}, which writing would destroy (choose another output file)`);
    }
  }
}

function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/** Turns a system error on `target` into a FileError a person can act on. */
export function fileErrorFor(target: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException).code;
  const dirExists = existsSync(path.dirname(path.resolve(target || '.')));
  const why =
    code === 'ENOENT' ? (dirExists ? `no file can be created in ${path.dirname(path.resolve(target))}` : 'its directory does not exist')
    : code === 'EISDIR' ? 'it is a directory'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EROFS' ? 'the file system is read-only'
    : code === 'ENOSPC' ? 'the disk is full'
    : (code ?? String(error));
  return new FileError(`cannot write ${target}: ${why}`);
}

/** Writes `bytes` to a temp file beside `target`, then renames it into place; refuses a target that is not a regular file. */
export function writeFileAtomic(target: string, bytes: Uint8Array): void {
  checkWritableTarget(target);
  const temp = tempPathFor(target);
  try {
    const fd = openSync(temp, 'w');
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { force: true });
    throw fileErrorFor(target, e);
  } finally {
    releaseTemp(temp);
  }
}
