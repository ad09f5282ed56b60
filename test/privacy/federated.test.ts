// FedAvg: client splits, weighted state-dict averaging, and accuracy against centralised training on digits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as nb from 'nabla';
import { assertClose } from '../helpers/assert.js';

const { nn } = nb;
const { federated } = nb.privacy;

function mlp(): nb.nn.Module {
  nb.manualSeed(11);
  return new nn.Sequential(new nn.Flatten(), new nn.Linear(64, 32), new nn.Tanh(), new nn.Linear(32, 10));
}

function accuracy(model: nb.nn.Module, ds: nb.data.Dataset<[unknown, number]>): number {
  let correct = 0;
  nb.noGrad(() => {
    for (const [x, y] of new nb.data.DataLoader(ds, { batchSize: 500 }) as Iterable<[nb.Tensor, nb.Tensor]>)
      correct += model.call(x).argmax(1).eq(y).sum().item();
  });
  return correct / ds.length;
}

const labelsOf = (s: nb.data.Subset<[unknown, number]>) => new Set(s.indices.map((i) => s.dataset.getItem(i)[1]));

describe('privacy.federated', () => {
  const train = nb.datasets.digits({ train: true });
  const test = nb.datasets.digits({ train: false });

  it('splitIID partitions the data; splitNonIID gives each client a few classes', () => {
    const iid = federated.splitIID(train, 7, new nb.Generator(1));
    const all = iid.flatMap((s) => s.indices).sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: train.length }, (_, i) => i),
    );
    assert.ok(Math.max(...iid.map((s) => s.length)) - Math.min(...iid.map((s) => s.length)) <= 1);
    for (const s of iid) assert.equal(labelsOf(s).size, 10, 'an IID client sees every class');

    const non = federated.splitNonIID(train, 10, { generator: new nb.Generator(2) });
    const covered = non.flatMap((s) => s.indices).sort((a, b) => a - b);
    assert.deepEqual(
      covered,
      Array.from({ length: train.length }, (_, i) => i),
    );
    const classes = non.map((s) => labelsOf(s).size);
    // two shards of 75 sorted examples: each within one class or straddling two
    for (const c of classes) assert.ok(c <= 4, `a non-IID client sees ${c} classes`);
    assert.ok(classes.reduce((a, b) => a + b) / classes.length <= 3);
    assert.throws(() => federated.splitIID(train, 0), /numClients must be a positive integer/);
  });

  it('averageStateDicts weighs by example counts and keeps integer buffers', () => {
    const a = { w: nb.tensor([1, 2]), n: nb.tensor([3], { dtype: 'int32' }) };
    const b = { w: nb.tensor([4, 8]), n: nb.tensor([9], { dtype: 'int32' }) };
    const avg = federated.averageStateDicts([a, b], [1, 2]);
    assertClose(avg.w, nb.tensor([3, 6]), { rtol: 1e-6 });
    assert.deepEqual(Array.from(avg.n.toTypedArray()), [3]);
    assert.throws(() => federated.averageStateDicts([a, { w: nb.tensor([1, 2, 3]), n: a.n }]), /'w' has shape \[3\]/);
    assert.throws(() => federated.averageStateDicts([a], [0]), /positive sum/);
  });

  it('IID FedAvg matches centralised training on the same data; non-IID FedAvg learns but trails', () => {
    const rounds = 10;
    const central = mlp();
    const opt = new nb.optim.SGD(central.parameters(), { lr: 0.1 });
    const loader = new nb.data.DataLoader(train, { batchSize: 20, shuffle: true, generator: new nb.Generator(3) });
    const lossFn = new nn.CrossEntropyLoss();
    for (let e = 0; e < rounds; e++) {
      for (const [x, y] of loader as Iterable<[nb.Tensor, nb.Tensor]>) {
        opt.zeroGrad();
        lossFn.call(central.call(x), y).backward();
        opt.step();
      }
    }
    const accCentral = accuracy(central, test);

    const run = (clients: nb.data.Dataset<unknown>[]) => {
      const model = mlp();
      const fl = new federated.FedAvg(model, clients, {
        clientFraction: 0.5,
        localEpochs: 2, // 0.5 x 2: one pass over the data a round, as a centralised epoch
        batchSize: 20,
        lr: 0.1,
        generator: new nb.Generator(4),
      });
      let last: nb.privacy.federated.RoundResult | undefined;
      for (let r = 0; r < rounds; r++) last = fl.round();
      assert.equal(last?.clients.length, 5);
      return accuracy(model, test);
    };
    const accIID = run(federated.splitIID(train, 10, new nb.Generator(5)));
    const accNon = run(federated.splitNonIID(train, 10, { generator: new nb.Generator(6) }));
    assert.ok(accCentral > 0.85, `centralised ${accCentral}`);
    assert.ok(accIID > accCentral - 0.05, `IID FedAvg ${accIID} vs centralised ${accCentral}`);
    assert.ok(accNon > 0.3 && accNon < accIID, `non-IID FedAvg ${accNon} (IID ${accIID})`);
  });
});
