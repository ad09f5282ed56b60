// Pruning like torch.nn.utils.prune on the pretrained MNIST MLP from ../shared/data: iterative global
// magnitude pruning (20% of what is left, five times: the masks compose), the sparsity report after each
// round, an accuracy-vs-sparsity PNG, then remove() to make the zeros permanent and save the weights.
// Run: npm run build && node dist/examples/pruning.js [out.png]
import * as nb from 'nabla';
import { resolve } from 'node:path';

const root = process.env.NABLA_SHARED_DATA ?? resolve('..', 'shared', 'data');
const { prune } = nb.nn.utils;

const net = new nb.vision.models.MnistMLP();
net.loadDlfs(await nb.io.loadSafetensors(resolve(root, 'mnist-mlp-dlfs.safetensors')));
net.eval();
const test = nb.datasets.MNIST({ root, train: false });
const [x, y] = test.getBatch!(Array.from({ length: test.length }, (_, i) => i));
const accuracy = () => nb.noGrad(() => (net.call(x) as nb.Tensor).argmax(1).eq(y).float().mean().item());

const layers = [...net.modules()].filter((m) => m instanceof nb.nn.Linear) as nb.nn.Linear[];
const sparsity = [0],
  acc = [accuracy()];
for (let round = 1; round <= 5; round++) {
  prune.globalUnstructured(
    layers.map((l) => [l, 'weight']),
    prune.L1Unstructured,
    { amount: 0.2 },
  );
  const report = prune.sparsityReport(net);
  sparsity.push(report[report.length - 1].sparsity);
  acc.push(accuracy());
  console.log(`round ${round}: test accuracy ${(100 * acc[round]).toFixed(2)}%\n${report.toString()}\n`);
}
console.log('state_dict keys while pruned:', Object.keys(net.stateDict()).join(', '));

const cv = new nb.plot.Canvas(640, 400);
nb.plot.lineChart(
  cv,
  10,
  10,
  620,
  380,
  'MNIST MLP: test accuracy vs sparsity',
  [{ name: 'accuracy %', values: acc.map((a) => 100 * a) }],
  { xLabel: 'SPARSITY %', xTickLabels: sparsity.map((s) => (100 * s).toFixed(0)) },
);
const out = process.argv[2] ?? 'pruning.png';
cv.savePng(out);
console.log(`wrote ${out}`);

for (const l of layers) prune.remove(l, 'weight');
console.log('after remove():', Object.keys(net.stateDict()).join(', '));
