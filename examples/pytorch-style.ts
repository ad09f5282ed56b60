// The PyTorch seed example, line for line:
//   class Net(nn.Module): fc1 = Linear(32, 64); fc2 = Linear(64, 10); forward = fc2(relu(fc1(x)))
//   loss_fn = CrossEntropyLoss(); optimizer = Adam(model.parameters(), lr=1e-3)
//   for epoch: optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); optimizer.step()
// Run: npm run build && node dist/examples/pytorch-style.js
import * as nb from 'nabla';

class Net extends nb.nn.Module {
  fc1 = new nb.nn.Linear(32, 64);
  fc2 = new nb.nn.Linear(64, 10);

  forward(x: nb.Tensor): nb.Tensor {
    x = nb.relu(this.fc1.call(x));
    return this.fc2.call(x);
  }
}

nb.manualSeed(0);
const model = new Net();
const lossFn = new nb.nn.CrossEntropyLoss();
const optimizer = new nb.optim.Adam(model.parameters(), { lr: 1e-3 });

// A learnable toy task: the class is the argmax of the first 10 features.
const x = nb.randn([256, 32]);
const y = x.narrow(1, 0, 10).argmax(1);

for (let epoch = 0; epoch < 100; epoch++) {
  optimizer.zeroGrad();
  const loss = lossFn.call(model.call(x), y);
  loss.backward();
  optimizer.step();
  if (epoch % 20 === 0 || epoch === 99) console.log(`epoch ${epoch}: loss ${loss.item().toFixed(4)}`);
}
const acc = nb.noGrad(() => model.call(x).argmax(1).eq(y).float().mean().item());
console.log(`train accuracy ${(acc * 100).toFixed(1)}%`);
console.log(model.toString());
