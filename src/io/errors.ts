// Typed errors for the file-format readers and writers in src/io.

/**
 * A file (or byte buffer) does not follow its format, or a value to be written cannot be
 * represented in it. `file` names the file (or '<bytes>'), `field` the part that is wrong: a tensor
 * name, 'header', 'header length', 'descr', '__metadata__', ...
 */
export class FormatError extends Error {
  override name = 'FormatError';
  readonly file: string;
  readonly field: string;
  constructor(file: string, field: string, message: string) {
    super(field ? `${file}: ${field}: ${message}` : `${file}: ${message}`);
    this.file = file;
    this.field = field;
  }
}

/** A file could not be read or written (missing, a directory, no permission, ...). */
export class FileAccessError extends Error {
  override name = 'FileAccessError';
  readonly path: string;
  /** The Node error code (ENOENT, EACCES, EISDIR, ...) when there is one. */
  readonly code: string | undefined;
  constructor(path: string, message: string, code?: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
    this.path = path;
    this.code = code;
  }
}
