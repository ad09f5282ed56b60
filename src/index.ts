/**
 * nabla: a deep-learning framework for TypeScript. `import * as nb from 'nabla'`.
 *
 * The stable API. Internals (Storage, Layout, checkpoint byte parsers, the backend registry,
 * attention helpers) are in `nabla/internals`: `import { Layout, Storage } from 'nabla/internals'`.
 * Importing nabla loads nothing and prints nothing: the backend is chosen on first use (native if
 * the addon loads, else WASM, else JS; NABLA_BACKEND=js|native|wasm) or by nb.setBackend.
 * @module nabla
 */

export { version } from './util/version.js';
export { Tensor, type TensorLike } from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export type { Shape } from './tensor/layout.js';
export type { Device } from './tensor/device.js';
export { DTYPES, promoteTypes } from './tensor/dtype.js';
export {
  tensor,
  fromTypedArray,
  zeros,
  ones,
  full,
  empty,
  zerosLike,
  onesLike,
  emptyLike,
  fullLike,
  arange,
  linspace,
  eye,
  rand,
  randn,
  randint,
  randperm,
  randLike,
  randnLike,
  type CreateOptions,
  type TensorOptions,
  type RandomOptions,
  type Nested,
  type AnyTypedArray,
} from './tensor/creation.js';
export { Generator, manualSeed, defaultGenerator, getRngState, setRngState } from './tensor/random.js';
export * from './ops/functional.js';
export { ValuesIndices, type VarOptions } from './ops/reduce.js';
export type { IndexItem } from './ops/indexing.js';
export type { MeshgridOptions, IscloseOptions, UniqueOptions } from './ops/composite.js';
export type { MultinomialOptions, BernoulliOptions } from './ops/sampling.js';
/** torch.linalg: `norm`, `vectorNorm`, `matrixNorm`, `det`, `inv`, `solve`, `cholesky` on (*, n, n) batches, with gradients. */
export * as linalg from './ops/linalg.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/grad_mode.js';
/** torch.autograd: `grad(outputs, inputs, {createGraph})`, `gradcheck`/`gradgradcheck` (float64), the graph's nodes. */
export * as autograd from './autograd/index.js';
export {
  backend,
  ready,
  setBackend,
  setNumThreads,
  getNumThreads,
  type BackendReport,
} from './backend/select.js';
export {
  initWebGPU,
  webgpuReport,
  webgpuMemory,
  webgpuSubgroups,
  releaseWebGPU,
  type WebGPUReport,
} from './backend/webgpu/index.js';
/**
 * Checkpoints: `load`/`save` for safetensors, PyTorch `.pt/.pth/.bin` (a restricted unpickler that never runs code)
 * and NumPy `.npy/.npz`; state_dict key helpers; `fetchBytes` for URLs. Writes are atomic.
 */
export * as io from './io/index.js';
/**
 * The Hugging Face Hub and torch.hub: downloads into Python's huggingface_hub cache (`HF_HOME`, `HF_ENDPOINT`,
 * `HF_TOKEN`, `HF_HUB_OFFLINE`) and torchvision weights into `$TORCH_HOME/hub/checkpoints`, resumable and checked.
 */
export * as hub from './hub/index.js';
export {
  pipeline,
  type PipelineTask,
  type PipelineOptions,
  type TextGenerationPipeline,
  type TextGenerationOptions,
  type ImageClassificationPipeline,
  type FeatureExtractionPipeline,
  type FeatureExtractionOptions,
} from './pipelines/index.js';
export { load, save } from './io/index.js';
/** Tokenizers: GPT-2 byte-level BPE (`GPT2Tokenizer`) and Llama SentencePiece BPE (`LlamaTokenizer`, `fromLlama2c`). */
export * as text from './text/index.js';
/**
 * torchvision and PIL: `readImage(path, mode?)` decodes PNG/JPEG into an {@link vision.Image} (modes 'L', 'RGB',
 * 'RGBA', as PIL's `convert`), `transforms` (Compose, Resize, ToTensor, Normalize, ...), `ImageFolder`, `models`
 * (ResNets, `resnet18({weights: 'IMAGENET1K_V1'})`), `IMAGENET_CLASSES`, `loadClassifier`/`classifyImages`.
 */
export * as vision from './vision/index.js';
/** Figures as PNG without a browser: learning curves, image grids, confusion matrices, heatmaps. */
export * as plot from './plot/index.js';
/** Attributions (Captum's semantics): saliency, SmoothGrad, Integrated Gradients, Grad-CAM, occlusion, attention rollout. */
export * as explain from './explain/index.js';
/** torch.utils.tensorboard: `SummaryWriter` writing TensorBoard event files, and a Keras callback. */
export * as tensorboard from './tensorboard/index.js';
/** torchaudio: WAV load/save, FFT and STFT with gradients, spectrogram transforms, CTC loss, a speech corpus. */
export * as audio from './audio/index.js';
/**
 * Models: GPT-2 and Llama (`fromPretrained` on a folder or Hub id, `fromLlama2c`, `generate`, `savePretrained`),
 * `AutoModelForCausalLM`/`AutoTokenizer`, seq2seq translation, recommenders, VAE/DCGAN, FID.
 */
export * as models from './models/index.js';
/** torch.distributed over MPI: process groups and collectives; start ranks with `npx nabla launch --nproc N`. */
export * as distributed from './distributed/index.js';
/** torch.nn: `Module`, `Parameter`, layers, losses, containers, `functional`, `init`, `utils`, `parallel`. */
export * as nn from './nn/index.js';
/** torch.ao.quantization: `quantizeDynamic(model, {dtype: 'qint8'})` and its int8 modules. */
export * as quantization from './nn/quantized/index.js';
/**
 * The Keras front door: `sequential`/`model`, `layers`, `compile({optimizer, loss, metrics})`,
 * `fit(x, y | dataset, {epochs, batchSize, validationData, callbacks})`, `evaluate`, `predict`, `datasets`.
 */
export * as keras from './keras/index.js';
/** torch.optim: SGD, Adam, AdamW, RMSprop, Adagrad, `ZeroRedundancyOptimizer`, and `lrScheduler`. */
export * as optim from './optim/index.js';
/** Differential privacy: the RDP accountant for the subsampled Gaussian and per-sample gradients. */
export * as privacy from './privacy/index.js';
/** torch.utils.data: `Dataset`, `TensorDataset`, `DataLoader` (batching, shuffling, resumable), samplers, CSV/IDX readers. */
export * as data from './data/index.js';
/** Ready-made datasets from a root folder (torchvision style): bundled `digits()`, `MNIST`, `FashionMNIST`. */
export * as datasets from './data/datasets.js';
