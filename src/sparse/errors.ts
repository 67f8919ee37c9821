// Typed errors of the .srnn reader/writer and the sparse runtime (browser-safe, no Node imports).

/** What is wrong with an .srnn file; `field` names the part (a tensor name, 'magic', 'crc32', ...). */
export type SrnnErrorKind =
  | 'truncated' | 'magic' | 'version' | 'crc' | 'header' | 'range' | 'csr' | 'bsr' | 'tensor' | 'config';

/** An .srnn byte buffer does not follow the format (or a model cannot be written in it). */
export class SrnnFormatError extends Error {
  override name = 'SrnnFormatError';
  readonly kind: SrnnErrorKind;
  readonly field: string;
  constructor(kind: SrnnErrorKind, field: string, message: string) {
    super(`.srnn ${kind}: ${field}: ${message}`);
    this.kind = kind;
    this.field = field;
  }
}
