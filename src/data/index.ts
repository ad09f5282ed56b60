// nb.data: datasets, data loading and file readers (torch.utils.data). Ready-made datasets are
// in nb.datasets (./datasets.ts).

export { Dataset, TensorDataset, Subset, ConcatDataset, randomSplit } from './dataset.js';
export {
  DataLoader,
  defaultCollate,
  type DataLoaderOptions,
  type CollateFn,
  type DataLoaderState,
} from './dataloader.js';
export { readIdx, parseIdx, type IdxArray, type IdxData } from './idx.js';
export { CharDataset } from './text_dataset.js';
export { parseCsv, readCsv, CsvTable, type CsvOptions } from './csv.js';
export { ImageClassificationDataset } from './datasets.js';
export { DistributedSampler, type DistributedSamplerOptions } from './distributed_sampler.js';
export {
  loadMovieLens,
  movieLensFiles,
  randomRatingSplit,
  leaveOneOutSplit,
  type MovieLens,
  type RatingSplit,
  type MovieLensFiles,
} from './movielens.js';
