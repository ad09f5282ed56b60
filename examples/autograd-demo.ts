// A first look at nabla: tensors, broadcasting, autograd and a tiny gradient-descent fit.
// Run with `npm run build && node dist/examples/autograd-demo.js`.
import * as nb from 'nabla';

nb.manualSeed(0);
// Fit y = 3x - 2 with a linear model, by hand-written gradient descent.
const x = nb.linspace(-1, 1, 64).unsqueeze(1); // (64, 1)
const y = x
  .mul(3)
  .sub(2)
  .add(nb.randn([64, 1]).mul(0.05)); // (64, 1)
const w = nb.zeros([1, 1], { requiresGrad: true });
const b = nb.zeros([1], { requiresGrad: true });
for (let step = 0; step < 200; step++) {
  const loss = x.matmul(w).add(b).sub(y).square().mean();
  w.grad = null;
  b.grad = null;
  loss.backward();
  nb.noGrad(() => {
    w.sub_(w.grad!.mul(0.1));
    b.sub_(b.grad!.mul(0.1));
  });
  if (step % 50 === 0 || step === 199) console.log(`step ${step}: loss ${loss.item().toFixed(5)}`);
}
console.log(`w = ${w.item().toFixed(3)} (true 3), b = ${b.item().toFixed(3)} (true -2)`);
console.log('backend:', nb.backend().name);
