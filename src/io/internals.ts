// The byte-level layer of nb.io, exported from 'nabla/internals' (not the main entry): raw records,
// buffer and file parsers, the restricted unpickler, zip, half floats and the writers behind save().
export { torchToTensors } from './tensors.js';
export { BufferSource, FileSource, type ByteSource } from './source.js';
export type { ElemType, RawTensor, RawHalfTensor, RawRecord, WritableTensor } from './raw.js';
export { halfToFloat, floatToHalf } from './half.js';
export {
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensorsEntry,
  readSafetensorsFile,
  readSafetensorsFileAsync,
  writeSafetensorsFile,
  serializeSafetensors,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsReadOptions,
  type SafetensorsContents,
} from './safetensors.js';
export {
  parseTorch,
  readTorch,
  readTorchAsync,
  readTorchFile,
  serializeTorch,
  writeTorchFile,
  TorchStorage,
  TorchTensorRef,
  type TorchReadOptions,
  type TensorOut,
  type StorageOut,
} from './torch.js';
export {
  unpickle,
  UNPICKLE_LIMITS,
  type UnpickleOptions,
  type UnpickleLimits,
  type PyCallable,
} from './pickle.js';
export { NumpyArrayRef } from './numpy_pickle.js';
export {
  parseNpy,
  parseNpz,
  readNpyFile,
  readNpzFile,
  readNpyFileAsync,
  readNpzFileAsync,
  writeNpyFile,
  writeNpzFile,
  serializeNpy,
  serializeNpz,
  type NpyReadOptions,
} from './npy.js';
export { ZipReader, zipChunks, crc32, type ZipEntry, type ZipMemberInput } from './zip.js';
