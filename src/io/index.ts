// nb.io: checkpoints in safetensors, PyTorch (.pt/.pth/.bin) and NumPy (.npy/.npz) formats, as Tensors.
// The byte-level layer (raw records, buffer parsers, the unpickler, zip, writers) is for tools and
// tests, in src/io/internals.ts ('nabla/internals').
export {
  load,
  save,
  loadSafetensors,
  loadSafetensorsMetadata,
  saveSafetensors,
  loadTorch,
  saveTorch,
  loadNpy,
  saveNpy,
  loadNpz,
  saveNpz,
  type LoadSafetensorsOptions,
  type SaveOptions,
  type WidenOptions,
} from './tensors.js';
export { stripPrefix, addPrefix, renameKeys, transposeKeys, type StateDict } from './state_dict.js';
export { CheckpointError } from './source.js';
export type { ElemType, RawHalfTensor } from './raw.js';
export type { TorchReadOptions } from './torch.js';
export type { UnpickleLimits } from './pickle.js';
export type { NpzWriteOptions } from './npy.js';
export { fetchBytes, FetchError, type ByteInput, type Bytes } from './fetch.js';
