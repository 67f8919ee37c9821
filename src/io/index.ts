// Browser-safe file formats (bytes in, bytes out). File-system helpers are in ./fs.js (Node only).

export { FormatError, FileAccessError } from './errors.js';
export {
  parseSafetensors,
  serializeSafetensors,
  SAFETENSORS_DTYPES,
  DTYPE_SIZE,
  type SafetensorsDtype,
  type Tensor,
  type TensorData,
  type TensorInput,
  type ParsedSafetensors,
  type ParseOptions,
} from './safetensors.js';
export { parseNpy, parseNpyF32, serializeNpy, type NpyArray, type NpyData, type NpyDtype } from './npy.js';
export { checkFinite, checkAllFinite, halfToFloat, floatToHalf } from './util.js';
export { parseStrictJson, type Json } from './json.js';
