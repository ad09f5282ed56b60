// Files written by Debian's PyTorch 1.13 and NumPy 1.24 (tools/golden/io_make.py) load bit for bit,
// keep their shared storages and views, and survive a nabla write + read unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as io from './io.js';
import { Tensor } from '../../src/tensor/tensor.js';
import * as nn from '../../src/nn/index.js';
import * as optim from '../../src/optim/index.js';
import { bitsOf, expected, ioGolden } from './helpers.js';

function assertBits(t: Tensor, exp: any, name: string): void {
  assert.deepEqual([...t.shape], exp.shape, `${name}: shape`);
  assert.equal(t.dtype, exp.dtype, `${name}: dtype`);
  const got = bitsOf(t.dtype, t.toTypedArray());
  got.shape = exp.shape;
  assert.deepEqual(got, exp, `${name}: values`);
}

// NOTE: these goldens record the widened dtypes (float32, int32); test/io/dtypes.test.ts loads the same files
// keeping their dtypes, nabla's default.
test('torch zip state dict: every dtype, bit for bit', async () => {
  const sd = await io.loadTorch(ioGolden('state_dict.pth'), { widen: true });
  const exp = expected().state_dict;
  assert.deepEqual(Object.keys(sd), Object.keys(exp));
  for (const k of Object.keys(exp)) assertBits(sd[k], exp[k], k);
});

test('torch zip state dict: a shared storage stays shared, views keep offset and strides', async () => {
  const sd = await io.loadTorch(ioGolden('state_dict.pth'));
  const views = expected().state_dict_views;
  for (const [k, v] of Object.entries<any>(views)) {
    assert.equal(sd[k].storage, sd['shared.base'].storage, `${k} shares shared.base's storage`);
    assert.equal(sd[k].layout.offset, v.offset, `${k} offset`);
    assert.deepEqual([...sd[k].layout.strides], v.strides, `${k} strides`);
  }
  assert.equal(sd['shared.t'].isContiguous(), false);
});

test('torch legacy format (_use_new_zipfile_serialization=False)', async () => {
  const sd = await io.loadTorch(ioGolden('legacy.pth'), { widen: true });
  const exp = expected().legacy;
  for (const k of Object.keys(exp)) assertBits(sd[k], exp[k], k);
  assert.equal(sd['shared.t'].storage, sd['shared.base'].storage);
});

test('torch checkpoint: model, Adam optimizer state and primitives', async () => {
  const ck = await io.load(ioGolden('checkpoint.pth'));
  const exp = expected().checkpoint;
  for (const k of Object.keys(exp.model)) assertBits(ck.model[k], exp.model[k], k);
  assertBits(ck.optimizer.state['0'].exp_avg, exp.exp_avg_0, 'exp_avg');
  assert.deepEqual(ck.optimizer.param_groups, exp.param_groups);
  assert.equal(ck.epoch, 3);
  assert.equal(ck.best, 0.875);
  assert.equal(ck.name, 'mlp');
  assert.deepEqual(ck.flags, [true, null, -7, 2 ** 40]);
  assert.deepEqual(ck.pair, [1, 2.5]);
  // numpy scalars and arrays inside the checkpoint
  const { hist, ids, ...scalars } = ck.metrics;
  assert.deepEqual(scalars, { acc: 0.9352, n: 7, f: 0.5, ok: true });
  assert.deepEqual(hist.toArray(), [
    [0, 1],
    [2, 3],
  ]);
  assert.deepEqual(ids.toArray(), [1, -2]);
});

test("torch checkpoint: a PyTorch model and Adam resume in nabla from the optimizer's own layout", async () => {
  const ck = await io.load(ioGolden('checkpoint.pth'));
  const exp = expected().checkpoint;
  const model = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));
  model.loadStateDict(ck.model);
  const opt = new optim.Adam(model.parameters(), { lr: 0.1, betas: [0.5, 0.5] });
  opt.loadStateDict(ck.optimizer);
  const g = opt.paramGroups[0];
  assert.equal(g.lr, 1e-3);
  assert.deepEqual(g.betas, [0.9, 0.999]);
  assert.equal(g.weightDecay, 0);
  assert.equal('foreach' in g, false, 'torch-only switches are dropped');
  const st = opt.state.get(model.parameters()[0])!;
  assert.equal(st.step, 1);
  assertBits(st.expAvg as Tensor, exp.exp_avg_0, 'expAvg');
  assert.deepEqual(opt.stateDict().paramGroups[0].params, [0, 1, 2, 3]);
});

test('keepHalf returns the raw half/bfloat16 bits', async () => {
  const st = io.readSafetensorsFile(ioGolden('all_dtypes.safetensors'), {
    keepHalf: true,
    names: ['f16', 'bf16'],
  }).tensors;
  const exp = expected().half_bits;
  assert.equal(st.f16.dtype, 'float16');
  assert.deepEqual(Array.from(st.f16.data), exp.f16);
  assert.deepEqual(Array.from(st.bf16.data), exp.bf16);
  const pt = io.readTorchFile(ioGolden('state_dict.pth'), { keepHalf: true }) as Record<string, io.TorchTensorRef>;
  assert.deepEqual(Array.from(pt.bf16.storage.data!), exp.bf16);
  const sd = await io.loadTorch(ioGolden('state_dict.pth'), { keepHalf: true });
  assert.equal(sd.f16.dtype, 'float16');
  assert.deepEqual(Array.from(sd.f16.data), exp.f16);
  assert.ok(sd.f32 instanceof Tensor);
});

test('safetensors golden: every dtype bit for bit, metadata, selective names', async () => {
  const st = await io.loadSafetensors(ioGolden('all_dtypes.safetensors'), { widen: true });
  const exp = expected().safetensors;
  assert.deepEqual(Object.keys(st), Object.keys(exp));
  for (const k of Object.keys(exp)) assertBits(st[k], exp[k], k);
  assert.deepEqual(await io.loadSafetensorsMetadata(ioGolden('all_dtypes.safetensors')), {
    format: 'pt',
    source: 'io_make.py',
  });
  const two = await io.loadSafetensors(ioGolden('all_dtypes.safetensors'), { names: ['i8', 'f64'] });
  assert.deepEqual(Object.keys(two), ['i8', 'f64']);
});

test('I64 values outside int32 give an error naming the file and tensor', async () => {
  await assert.rejects(io.loadSafetensors(ioGolden('i64_overflow.safetensors'), { widen: true }), (e: Error) => {
    assert.ok(e instanceof io.CheckpointError);
    assert.match(e.message, /i64_overflow\.safetensors.*tensor 'big' \(I64\) holds 5000000000 at flat index 1/);
    return true;
  });
  const ok = await io.loadSafetensors(ioGolden('i64_overflow.safetensors'), { names: ['ok'] });
  assert.deepEqual(Array.from(ok.ok.toTypedArray()), [1]);
});

test('npy of each dtype (and big-endian) bit for bit; npz stored and deflated', async () => {
  const exp = expected().npy;
  for (const k of Object.keys(exp)) assertBits(await io.loadNpy(ioGolden(`${k}.npy`), { widen: true }), exp[k], k);
  for (const f of ['arrays.npz', 'arrays_compressed.npz']) {
    const z = await io.load(ioGolden(f), { widen: true });
    assertBits(z.a, exp.float32, `${f}:a`);
    assertBits(z.b, exp.int64, `${f}:b`);
    assertBits(z.c, exp.bool, `${f}:c`);
  }
});

test('npy: Fortran order and complex64 are refused with a clear error', async () => {
  await assert.rejects(
    io.loadNpy(ioGolden('fortran.npy')),
    /fortran\.npy\): npy: Fortran-order arrays are not supported/,
  );
  await assert.rejects(io.loadNpy(ioGolden('complex64.npy')), /complex64\.npy\): npy: unhandled dtype '<c8'/);
});

test('round trips through nabla writers are bit for bit (stored dtype preserved with `as`)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-io-'));
  try {
    // safetensors: raw records keep their source dtype, so the file's tensors come back identical.
    const raw = io.readSafetensorsFile(ioGolden('all_dtypes.safetensors'), { keepHalf: true });
    const back: Record<string, io.WritableTensor> = {};
    for (const [k, r] of Object.entries(raw.tensors)) back[k] = { ...r, as: r.sourceDtype };
    io.writeSafetensorsFile(join(dir, 'a.safetensors'), back, raw.metadata);
    const orig = io.parseSafetensorsHeader(new io.BufferSource(readFileSync(ioGolden('all_dtypes.safetensors'))));
    const mine = io.parseSafetensorsHeader(new io.BufferSource(readFileSync(join(dir, 'a.safetensors'))));
    const dataOf = (buf: Buffer, h: io.SafetensorsHeader) =>
      h.entries.map((e) => [e.name, e.dtype, e.shape, buf.subarray(e.begin, e.end).toString('hex')]);
    assert.deepEqual(
      dataOf(readFileSync(join(dir, 'a.safetensors')), mine),
      dataOf(readFileSync(ioGolden('all_dtypes.safetensors')), orig),
    );
    // torch: load, save, load again: same values, still one shared storage.
    const sd = await io.loadTorch(ioGolden('state_dict.pth'));
    await io.save(sd, join(dir, 'b.pth'));
    const sd2 = await io.load(join(dir, 'b.pth'));
    for (const [k, v] of Object.entries<Tensor>(sd))
      assert.deepEqual(bitsOf(sd2[k].dtype, sd2[k].toTypedArray()), bitsOf(v.dtype, v.toTypedArray()), k);
    assert.equal(sd2['shared.slice'].storage, sd2['shared.base'].storage);
    assert.equal(sd2['shared.slice'].layout.offset, 5);
    // npy / npz
    const exp = expected().npy;
    for (const k of ['float32', 'float64', 'int32', 'bool']) {
      await io.saveNpy(await io.loadNpy(ioGolden(`${k}.npy`)), join(dir, `${k}.npy`));
      assert.deepEqual(
        readFileSync(join(dir, `${k}.npy`)),
        readFileSync(ioGolden(`${k}.npy`)),
        `${k}.npy byte for byte`,
      );
      assertBits(await io.loadNpy(join(dir, `${k}.npy`)), exp[k], k);
    }
    const z = await io.loadNpz(ioGolden('arrays.npz'));
    await io.saveNpz(z, join(dir, 'c.npz'), { compress: true });
    const z2 = await io.loadNpz(join(dir, 'c.npz'));
    assertBits(z2.a, exp.float32, 'npz a');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
