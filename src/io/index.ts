// nb.io: checkpoints in safetensors, PyTorch (.pt/.pth/.bin) and NumPy (.npy/.npz) formats.
// Layer 2 (Tensors) first; layer 1 (raw records, buffer-level parsers, writers) for tools and tests.
export {
  load, save, loadSafetensors, loadSafetensorsMetadata, saveSafetensors, loadTorch, saveTorch, torchToTensors,
  loadNpy, saveNpy, loadNpz, saveNpz, type LoadSafetensorsOptions, type SaveOptions,
} from './tensors.js';
export { stripPrefix, addPrefix, renameKeys, transposeKeys, type StateDict } from './state_dict.js';
export { CheckpointError, BufferSource, FileSource, type ByteSource } from './source.js';
export type { ElemType, RawTensor, RawHalfTensor, RawRecord, WritableTensor } from './raw.js';
export { halfToFloat, floatToHalf } from './half.js';
export {
  parseSafetensors, parseSafetensorsHeader, readSafetensorsEntry, readSafetensorsFile, readSafetensorsFileAsync, writeSafetensorsFile, serializeSafetensors,
  type SafetensorsEntry, type SafetensorsHeader, type SafetensorsReadOptions, type SafetensorsContents,
} from './safetensors.js';
export { parseTorch, readTorch, readTorchAsync, readTorchFile, serializeTorch, writeTorchFile, TorchStorage, TorchTensorRef, type TorchReadOptions } from './torch.js';
export { unpickle, UNPICKLE_LIMITS, type UnpickleOptions, type UnpickleLimits } from './pickle.js';
export { NumpyArrayRef } from './numpy_pickle.js';
export { parseNpy, parseNpz, readNpyFile, readNpzFile, readNpyFileAsync, readNpzFileAsync, writeNpyFile, writeNpzFile, serializeNpy, serializeNpz } from './npy.js';
export { ZipReader, zipChunks, crc32 } from './zip.js';
