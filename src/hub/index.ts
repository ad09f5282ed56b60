// Hugging Face Hub: downloads into the cache Python's huggingface_hub uses (nb.hub).
export {
  DEFAULT_ENDPOINT,
  type HubOptions,
  hubCacheDir,
  hubEndpoint,
  hubOffline,
  hubToken,
  isRepoId,
  repoFolderName,
  tryCachedFile,
} from './cache.js';
export { HubError, hfHubDownload, listRepoFiles, snapshotDownload } from './download.js';
export { cachedCheckpoint, hashPrefixOf, torchHome, type CheckpointOptions } from './torch_hub.js';
