// nb.nn.parallel (torch.nn.parallel): data parallelism across processes over nb.distributed.
export { DistributedDataParallel, type DDPOptions } from './distributed.js';
