// File-system helpers for the formats in src/io (Node only; the parsers themselves are browser-safe).

import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileAccessError } from './errors.js';
import { parseSafetensors, serializeSafetensors, type ParseOptions, type ParsedSafetensors, type TensorInput } from './safetensors.js';
import { parseNpy, serializeNpy, type NpyArray } from './npy.js';

export function accessError(p: string, err: unknown, doing: string): FileAccessError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOENT' ? 'no such file or directory' :
    code === 'EACCES' || code === 'EPERM' ? 'permission denied' :
    code === 'EISDIR' ? 'is a directory, expected a file' :
    code === 'ENOTDIR' ? 'a parent of this path is not a directory' :
    code === 'ERR_FS_FILE_TOO_LARGE' ? 'file too large to read into memory' :
    (err as Error | undefined)?.message ?? String(err);
  return new FileAccessError(p, `cannot ${doing}: ${why}`, code, { cause: err });
}

/** A plain Uint8Array (not a pooled Buffer view) with the file's bytes. */
function plain(b: Buffer): Uint8Array<ArrayBuffer> {
  // readFile never returns memory backed by a SharedArrayBuffer.
  return new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);
}

export async function readFileBytes(p: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return plain(await fsp.readFile(p));
  } catch (e) {
    throw accessError(p, e, 'read');
  }
}

export function readFileBytesSync(p: string): Uint8Array<ArrayBuffer> {
  try {
    return plain(readFileSync(p));
  } catch (e) {
    throw accessError(p, e, 'read');
  }
}

/**
 * Write `bytes` to `p` atomically: a temporary file in the same directory, fsync, rename over `p`,
 * then fsync the directory (best-effort). Readers see the old file or the new one, never a part.
 */
export async function writeFileAtomic(p: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(p));
  const tmp = `${p}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
      off += bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, p);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    throw accessError(p, e, 'write');
  }
  try {
    const d = await fsp.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Directory fsync is not possible everywhere (e.g. Windows); the rename has happened.
  }
}

export async function loadSafetensorsFile(p: string, opts?: ParseOptions): Promise<ParsedSafetensors> {
  return parseSafetensors(await readFileBytes(p), p, opts);
}

export function loadSafetensorsFileSync(p: string, opts?: ParseOptions): ParsedSafetensors {
  return parseSafetensors(readFileBytesSync(p), p, opts);
}

export async function saveSafetensorsFile(
  p: string,
  tensors: Record<string, TensorInput> | Map<string, TensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(p, serializeSafetensors(tensors, metadata));
}

export async function loadNpyFile(p: string): Promise<NpyArray> {
  return parseNpy(await readFileBytes(p), p);
}

export async function saveNpyFile(p: string, data: Float32Array | Int32Array, shape: readonly number[]): Promise<void> {
  await writeFileAtomic(p, serializeNpy(data, shape));
}
