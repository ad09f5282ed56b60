// Run under mpirun (test/distributed/failure.test.ts) with argv[2] = the failure to stage on the last rank:
//   throw: it throws in the middle of DDP training, while the others wait in an all-reduce;
//   hang:  it stops calling collectives (and never exits), so the others' all-reduce cannot finish;
//   mixed: it asks for another progress mode than the others, which initProcessGroup refuses on all.
// Either way the job must end, non-zero, with a message that says what happened: never hang.

import * as nb from '../../../src/index.js';

const mode = process.argv[2];
const D = nb.distributed;
const last = process.env.OMPI_COMM_WORLD_RANK === String(Number(process.env.OMPI_COMM_WORLD_SIZE) - 1);
const progress = mode === 'mixed' ? (last ? 'thread' : 'inline') : undefined;
D.initProcessGroup({ backend: 'mpi', timeout: mode === 'hang' ? 2000 : undefined, progress });
const rank = D.getRank(),
  W = D.getWorldSize();
nb.manualSeed(0);
const model = new nb.nn.parallel.DistributedDataParallel(new nb.nn.Linear(4, 2));
const opt = new nb.optim.SGD(model.parameters(), { lr: 0.1 });
for (let step = 0; step < 10; step++) {
  if (rank === W - 1 && step === 3) {
    if (mode === 'throw') throw new Error(`rank ${rank} failed on purpose at step ${step}`);
    console.log(`rank ${rank} stops calling collectives`);
    setTimeout(() => {}, 600_000);
    break;
  }
  opt.zeroGrad();
  nb.nn.functional.mseLoss(model.call(nb.randn([8, 4])) as nb.Tensor, nb.zeros([8, 2])).backward();
  opt.step();
  console.log(`rank ${rank} step ${step}`);
}
if (mode !== 'hang' || rank !== W - 1) {
  D.destroyProcessGroup();
  console.log(`done rank ${rank}`);
}
