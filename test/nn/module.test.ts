// Module behaviour: registration order, iteration, stateDict keys and round trip, loadStateDict
// errors, train/eval, gradients helpers, deep copies, PyTorch's repr and layer shape errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from './nb.js';
import { assertClose } from '../helpers/assert.js';

const { nn } = nb;
type T = nb.Tensor;

class Net extends nn.Module {
  declare features: nb.nn.Sequential;
  declare fc: nb.nn.Linear;
  declare scale: nb.nn.Parameter;
  constructor() {
    super();
    this.scale = new nn.Parameter(nb.ones([1]));
    this.features = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
    );
    this.registerBuffer('step', nb.zeros([]));
    this.registerBuffer('cache', nb.zeros([2]), false);
    this.fc = new nn.Linear(16, 3);
  }
  forward(x: T): T {
    // x (N, 1, 4, 4) -> (N, 3)
    return this.fc.call(this.features.call(x).flatten(1)).mul(this.scale);
  }
}

test('registration by assignment, in assignment order; buffers and non-persistent buffers', () => {
  const n = new Net();
  assert.deepEqual(
    [...n.namedParameters()].map(([k]) => k),
    ['scale', 'features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'fc.weight', 'fc.bias'],
  );
  assert.deepEqual(
    [...n.namedBuffers()].map(([k]) => k),
    ['step', 'cache', 'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked'],
  );
  assert.deepEqual(Object.keys(n.stateDict()), [
    'scale',
    'step',
    'features.0.weight',
    'features.0.bias',
    'features.1.weight',
    'features.1.bias',
    'features.1.running_mean',
    'features.1.running_var',
    'features.1.num_batches_tracked',
    'fc.weight',
    'fc.bias',
  ]);
  assert.equal(n.stateDict()['features.1.num_batches_tracked'].dtype, 'int32');
  assert.deepEqual(
    [...n.namedChildren()].map(([k]) => k),
    ['features', 'fc'],
  );
  assert.deepEqual(
    [...n.namedModules()].map(([k]) => k),
    ['', 'features', 'features.0', 'features.1', 'features.2', 'features.3', 'fc'],
  );
  assert.equal(n.children().length, 2);
  assert.equal(n.numParameters(), 1 + 4 * 9 + 4 + 4 + 4 + 16 * 3 + 3);
  // replacing a parameter keeps its place; null removes it from the state dict; delete unregisters
  n.scale = new nn.Parameter(nb.full([1], 2));
  assert.equal(n.parameters()[0].item(), 2);
  (n.fc as unknown as { bias: unknown }).bias = null;
  assert.ok(!('fc.bias' in n.stateDict()));
  assert.throws(() => {
    (n.fc as unknown as { weight: unknown }).weight = nb.zeros([3, 16]);
  }, /cannot assign a Tensor as parameter 'weight'/);
  delete (n as unknown as { fc?: unknown }).fc;
  assert.ok(!Object.keys(n.stateDict()).some((k) => k.startsWith('fc.')));
});

test('class fields with initialisers register; re-declaring an inherited field keeps it', () => {
  class A extends nn.Module {
    fc = new nn.Linear(2, 3);
    w = new nn.Parameter(nb.zeros([2]));
    act = new nn.ReLU();
    forward(x: T): T {
      return this.act.call(this.fc.call(x.add(this.w)));
    }
  }
  class B extends A {
    declare extra: nb.nn.Linear;
    // @ts-expect-error TS forbids it, plain JavaScript does not: the field is redefined as undefined
    override fc!: nb.nn.Linear;
    constructor() {
      super();
      this.extra = new nn.Linear(3, 1);
    }
  }
  const b = new B();
  assert.ok(b.fc instanceof nn.Linear);
  assert.deepEqual(Object.keys(b.stateDict()), ['w', 'fc.weight', 'fc.bias', 'extra.weight', 'extra.bias']);
  assert.deepEqual(b.call(nb.ones([4, 2])).shape, [4, 3]);
});

test('forward hooks and pre-hooks run around call(), also for children of containers', () => {
  const lin = new nn.Linear(2, 2);
  const seq = new nn.Sequential(lin, new nn.ReLU());
  const seen: number[][] = [];
  const h = lin.registerForwardHook((_m, _inp, out) => {
    seen.push([...(out as T).shape]);
  });
  const p = lin.registerForwardPreHook((_m, [x]) => [(x as T).mul(0)]);
  const y = seq.call(nb.ones([3, 2]));
  assert.deepEqual(seen, [[3, 2]]);
  assertClose(y, lin.bias!.relu().expand([3, 2]));
  const h2 = seq.registerForwardHook(() => nb.zeros([1]));
  assert.deepEqual(seq.call(nb.ones([3, 2])).shape, [1]);
  assert.deepEqual(seq.forward(nb.ones([3, 2])).shape, [3, 2]);
  h.remove();
  p.remove();
  h2.remove();
  assert.equal(seen.length, 3); // seq.forward still runs its children's hooks
  seq.call(nb.ones([1, 2]));
  assert.equal(seen.length, 3);
});

test('shared parameters are listed once', () => {
  const a = new nn.Linear(3, 3);
  const s = new nn.Sequential(a, new nn.ReLU(), a);
  assert.equal(s.parameters().length, 2);
  assert.equal(s.modules().length, 3);
});

test('stateDict / loadStateDict round trip reproduces the outputs', () => {
  nb.manualSeed(1);
  const a = new Net(),
    b = new Net();
  a.train();
  a.call(nb.randn([3, 1, 4, 4]));
  a.eval();
  b.eval();
  const x = nb.randn([2, 1, 4, 4]);
  assert.notDeepEqual(a.call(x).toArray(), b.call(x).toArray());
  const res = b.loadStateDict(a.stateDict());
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assertClose(b.call(x), a.call(x));
  assert.equal((b.features.at(1) as nb.nn.BatchNorm2d).num_batches_tracked!.item(), 1);
  // the state dict is detached and shares storage with the parameters
  const sd = a.stateDict();
  assert.equal(sd['fc.weight'].requiresGrad, false);
  assert.equal(sd['fc.weight'].storage, a.fc.weight.storage);
});

test('loadStateDict lists missing, unexpected and mis-shaped keys', () => {
  const n = new Net();
  const sd = n.stateDict();
  delete sd['fc.bias'];
  sd['fc.extra'] = nb.zeros([1]);
  sd['features.0.weight'] = nb.zeros([4, 1, 2, 2]);
  assert.throws(
    () => n.loadStateDict(sd),
    (e: Error) => {
      assert.match(e.message, /Error\(s\) in loading state_dict for Net/);
      assert.match(e.message, /Missing key\(s\) in state_dict: "fc.bias"\./);
      assert.match(e.message, /Unexpected key\(s\) in state_dict: "fc.extra"\./);
      assert.match(
        e.message,
        /size mismatch for features.0.weight: copying a param with shape \[4, 1, 2, 2\] from checkpoint, the shape in current model is \[4, 1, 3, 3\]/,
      );
      return true;
    },
  );
  // non-strict: missing and unexpected are returned, mis-shaped still throws
  delete sd['features.0.weight'];
  const r = n.loadStateDict(sd, { strict: false });
  assert.deepEqual(r, { missingKeys: ['features.0.weight', 'fc.bias'], unexpectedKeys: ['fc.extra'] });
  sd['fc.weight'] = nb.zeros([2, 16]);
  assert.throws(() => n.loadStateDict(sd, { strict: false }), /size mismatch for fc.weight/);
});

test('train/eval propagate; dropout and batch norm follow the mode', () => {
  const n = new nn.Sequential(new nn.Dropout(0.5), new nn.BatchNorm1d(3));
  assert.equal(n.training, true);
  n.eval();
  assert.ok(n.modules().every((m) => !m.training));
  const x = nb.randn([4, 3]);
  // eval: dropout is the identity and batch norm uses running stats (0, 1)
  assertClose(n.call(x), x.div(Math.sqrt(1 + 1e-5)));
  n.train();
  assert.ok(n.modules().every((m) => m.training));
  const bn = n.at(1) as nb.nn.BatchNorm1d;
  n.call(x);
  assert.equal(bn.num_batches_tracked!.item(), 1);
  assert.notDeepEqual(bn.runningMean!.toArray(), [0, 0, 0]);
});

test('zeroGrad, requiresGrad_, apply, to(dtype)', () => {
  const n = new Net();
  n.call(nb.randn([2, 1, 4, 4]))
    .sum()
    .backward();
  assert.ok(n.parameters().every((p) => p.grad !== null));
  n.zeroGrad(false);
  assert.ok(n.parameters().every((p) => p.grad!.abs().sum().item() === 0));
  n.zeroGrad();
  assert.ok(n.parameters().every((p) => p.grad === null));
  n.requiresGrad_(false);
  assert.equal(n.numParameters(true), 0);
  const names: string[] = [];
  n.apply((m) => names.push(m.constructor.name));
  assert.deepEqual(names, ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Sequential', 'Linear', 'Net']);
  n.double();
  assert.ok(n.parameters().every((p) => p.dtype === 'float64' && p instanceof nn.Parameter));
  assert.equal(n.stateDict()['features.1.num_batches_tracked'].dtype, 'int32');
  assert.equal(n.call(nb.randn([1, 1, 4, 4], { dtype: 'float64' })).dtype, 'float64');
});

test('deepCopyModule makes independent parameters', () => {
  const a = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
  const b = nn.deepCopyModule(a);
  assert.deepEqual(Object.keys(b.stateDict()), Object.keys(a.stateDict()));
  assert.notEqual(b.linear1.weight, a.linear1.weight);
  assertClose(b.linear1.weight, a.linear1.weight);
  nb.noGrad(() => b.linear1.weight.fill_(0));
  assert.notEqual(a.linear1.weight.abs().sum().item(), 0);
  assert.ok(b instanceof nn.TransformerEncoderLayer);
  const enc = new nn.TransformerEncoder(a, 2);
  assert.notEqual(enc.layers.at(0), enc.layers.at(1));
});

test('containers: Sequential with names, ModuleList, ModuleDict', () => {
  const s = new nn.Sequential({ conv: new nn.Conv2d(1, 2, 3), act: new nn.ReLU() });
  assert.deepEqual(Object.keys(s.stateDict()), ['conv.weight', 'conv.bias']);
  const l = new nn.ModuleList([new nn.Linear(2, 2)]).append(new nn.Linear(2, 3));
  assert.equal(l.length, 2);
  assert.deepEqual(Object.keys(l.stateDict()), ['0.weight', '0.bias', '1.weight', '1.bias']);
  const d = new nn.ModuleDict({ b: new nn.Linear(1, 1), a: new nn.Linear(1, 1), keys: new nn.Identity() });
  assert.deepEqual(d.keys(), ['b', 'a', 'keys']);
  assert.ok(d.get('keys') instanceof nn.Identity);
  assert.deepEqual(Object.keys(d.stateDict()), ['b.weight', 'b.bias', 'a.weight', 'a.bias']);
});

test("toString matches PyTorch's repr", () => {
  class Big extends nn.Module {
    constructor() {
      super();
      const a = this as unknown as Record<string, nb.nn.Module>;
      a.features = new nn.Sequential(
        new nn.Conv2d(1, 16, 3, { padding: 1 }),
        new nn.BatchNorm2d(16),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Dropout(0.25),
      );
      a.lstm = new nn.LSTM(8, 16, { numLayers: 2, batchFirst: true });
      a.attn = new nn.MultiheadAttention(16, 2);
      a.head = new nn.ModuleDict({ ln: new nn.LayerNorm(16), fc: new nn.Linear(16, 10, { bias: false }) });
      a.up = new nn.Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: true });
      a.emb = new nn.Embedding(10, 4, { paddingIdx: 0 });
      a.gn = new nn.GroupNorm(2, 4);
      a.ct = new nn.ConvTranspose2d(4, 2, 3, { stride: 2, outputPadding: 1, groups: 2, bias: false });
      a.c1 = new nn.Conv1d(2, 3, 4, { padding: 'same', paddingMode: 'reflect' });
      a.pool = new nn.AdaptiveAvgPool2d([null, 3]);
      a.act = new nn.ModuleList([
        new nn.GELU(),
        new nn.LeakyReLU(0.2),
        new nn.Softmax(-1),
        new nn.ELU(),
        new nn.Softplus(),
      ]);
      a.flat = new nn.Flatten();
      a.unf = new nn.Unflatten(1, [2, 8]);
      a.gru = new nn.GRU(4, 5, { bidirectional: true, dropout: 0 });
      a.rnn = new nn.RNN(3, 4, { nonlinearity: 'relu', bias: false });
      a.cell = new nn.LSTMCell(3, 4);
      a.avg = new nn.AvgPool2d(3, { stride: 2, padding: 1 });
      a.bn1 = new nn.BatchNorm1d(4, { momentum: null, affine: false });
    }
    forward(x: T): T {
      return x;
    }
  }
  // printed by torch 1.13 for the same module
  const want = `Big(
  (features): Sequential(
    (0): Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    (2): ReLU()
    (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    (4): Dropout(p=0.25, inplace=False)
  )
  (lstm): LSTM(8, 16, num_layers=2, batch_first=True)
  (attn): MultiheadAttention(
    (out_proj): NonDynamicallyQuantizableLinear(in_features=16, out_features=16, bias=True)
  )
  (head): ModuleDict(
    (ln): LayerNorm((16,), eps=1e-05, elementwise_affine=True)
    (fc): Linear(in_features=16, out_features=10, bias=False)
  )
  (up): Upsample(scale_factor=2.0, mode=bilinear)
  (emb): Embedding(10, 4, padding_idx=0)
  (gn): GroupNorm(2, 4, eps=1e-05, affine=True)
  (ct): ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1), groups=2, bias=False)
  (c1): Conv1d(2, 3, kernel_size=(4,), stride=(1,), padding=same, padding_mode=reflect)
  (pool): AdaptiveAvgPool2d(output_size=(None, 3))
  (act): ModuleList(
    (0): GELU(approximate='none')
    (1): LeakyReLU(negative_slope=0.2)
    (2): Softmax(dim=-1)
    (3): ELU(alpha=1.0)
    (4): Softplus(beta=1, threshold=20)
  )
  (flat): Flatten(start_dim=1, end_dim=-1)
  (unf): Unflatten(dim=1, unflattened_size=(2, 8))
  (gru): GRU(4, 5, bidirectional=True)
  (rnn): RNN(3, 4, bias=False)
  (cell): LSTMCell(3, 4)
  (avg): AvgPool2d(kernel_size=3, stride=2, padding=1)
  (bn1): BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, track_running_stats=True)
)`;
  assert.equal(String(new Big()), want);
});

test('a wrong input shape names the layer, the expected shape and the shape it got', () => {
  const cases: [() => unknown, string][] = [
    [
      () => new nn.Linear(32, 64).call(nb.randn([8, 31])),
      'Linear(in_features=32, out_features=64): expected input (*, 32), got [8, 31]',
    ],
    [
      () => new nn.Conv2d(3, 8, 3).call(nb.randn([2, 4, 8, 8])),
      'Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1)): expected input (N, 3, H, W) or (3, H, W), got [2, 4, 8, 8]',
    ],
    [
      () => new nn.BatchNorm2d(4).call(nb.randn([2, 3, 2, 2])),
      'BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True): expected input (N, 4, H, W), ' +
        'got [2, 3, 2, 2]',
    ],
    [
      () => new nn.LSTM(8, 16, { batchFirst: true }).call(nb.randn([4, 8, 7])),
      'LSTM(8, 16, batch_first=True): expected input (N, T, 8) or (T, 8), got [4, 8, 7]',
    ],
    [
      () => new nn.LayerNorm(5).call(nb.randn([2, 4])),
      'LayerNorm((5,), eps=1e-05, elementwise_affine=True): expected input (*, 5), got [2, 4]',
    ],
    [
      () => new nn.MultiheadAttention(8, 2).call(nb.randn([3, 2, 8]), nb.randn([3, 2, 6]), nb.randn([3, 2, 8])),
      'MultiheadAttention(): expected input key (S, N, 8), got [3, 2, 6]',
    ],
    [
      () => new nn.Embedding(10, 3).call(nb.randn([2])),
      'Embedding(10, 3): expected input int32 indices in [0, 10) (got float32), got [2]',
    ],
  ];
  for (const [f, msg] of cases)
    assert.throws(f, (e: Error) => {
      assert.equal(e.message, msg);
      return true;
    });
  assert.throws(
    () => new nn.LSTM(2, 3).call(nb.randn([5, 4, 2]), [nb.zeros([1, 3, 3]), nb.zeros([1, 4, 3])]),
    /expected hidden state \[1, 4, 3\], got \[1, 3, 3\]/,
  );
});

test('layers accept unbatched inputs like PyTorch', () => {
  assert.deepEqual(new nn.Conv2d(2, 3, 3).call(nb.randn([2, 5, 5])).shape, [3, 3, 3]);
  assert.deepEqual((new nn.MaxPool2d(2).call(nb.randn([2, 4, 4])) as T).shape, [2, 2, 2]);
  assert.deepEqual(new nn.GRU(3, 4).call(nb.randn([5, 3]))[1].shape, [1, 4]);
  assert.deepEqual(new nn.GRUCell(3, 4).call(nb.randn([3])).shape, [4]);
  const [o, w] = new nn.MultiheadAttention(4, 2).call(nb.randn([3, 4]), nb.randn([5, 4]), nb.randn([5, 4]));
  assert.deepEqual(
    [o.shape, w!.shape],
    [
      [3, 4],
      [3, 5],
    ],
  );
  assert.deepEqual(
    new nn.Transformer({ dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8 }).call(
      nb.randn([5, 4]),
      nb.randn([3, 4]),
    ).shape,
    [3, 4],
  );
});
