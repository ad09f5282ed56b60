// nb.distributed: data-parallel training over MPI, shaped like torch.distributed. Start the ranks with
// `npx nabla launch --nproc N script.js` (or mpirun); see docs/distributed.md.

export {
  initProcessGroup,
  destroyProcessGroup,
  isInitialized,
  isAvailable,
  getRank,
  getWorldSize,
  getBackend,
  mpiInfo,
  Work,
  type InitOptions,
  type ProgressMode,
} from './process_group.js';
export {
  allReduce,
  broadcast,
  allGather,
  allGatherIntoTensor,
  reduceScatter,
  reduceScatterTensor,
  barrier,
  send,
  recv,
  isend,
  irecv,
  type ReduceOp,
  type AsyncOption,
} from './collectives.js';
