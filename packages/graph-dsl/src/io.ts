/** Writing files so that a failure never leaves a half-written file at the target path. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/** A file could not be written (or read): names the path and what the system said, in words. */
export class FileError extends Error {
  override readonly name = 'FileError';
}

/** A fresh temp name beside `target`, so that the final rename stays on one file system. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Turns a system error on `target` into a FileError a person can act on. */
export function fileErrorFor(target: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? 'its directory does not exist'
    : code === 'EISDIR' ? 'it is a directory'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'ENOSPC' ? 'the disk is full'
    : (code ?? String(error));
  return new FileError(`cannot write ${target}: ${why}`);
}

/** Writes `bytes` to a temp file beside `target`, then renames it into place. */
export function writeFileAtomic(target: string, bytes: Uint8Array): void {
  if (!target) throw new FileError('no file was named (empty path)');
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
  }
}
