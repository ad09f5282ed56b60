// Checkpoints keep nabla's storage dtypes: F16/BF16/I8/U8/I64 load as float16/bfloat16/int8/uint8/int64
// (the files PyTorch 1.13 wrote for tools/golden/io_make.py), save back bit for bit in safetensors and
// torch.save files, widen only when asked ({ widen: true }), and load into float32 modules by casting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as io from './io.js';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { expected, ioGolden } from './helpers.js';

const KEPT = { f16: 'float16', bf16: 'bfloat16', i8: 'int8', u8: 'uint8', i64: 'int64' } as const;
const bits = (t: Tensor): number[] => Array.from(t.contiguous().toTypedArray());

/** The kept tensors of a loaded state dict against the widened golden: same values, their own dtype. */
function checkKept(sd: Record<string, Tensor>, what: string): void {
  const exp = expected();
  for (const [k, d] of Object.entries(KEPT)) {
    if (!sd[k]) continue;
    assert.equal(sd[k].dtype, d, `${what} ${k}: dtype`);
    if (k === 'f16' || k === 'bf16') assert.deepEqual(bits(sd[k]), exp.half_bits[k], `${what} ${k}: bits`);
    else assert.deepEqual(sd[k].tolist(), exp.safetensors[k].values, `${what} ${k}: values`);
  }
}

test('safetensors and torch.save files keep F16, BF16, I8, U8 and I64 by default', async () => {
  checkKept(await io.loadSafetensors(ioGolden('all_dtypes.safetensors')), 'safetensors');
  checkKept(await io.loadTorch(ioGolden('state_dict.pth')), 'torch zip');
  checkKept(await io.load(ioGolden('legacy.pth')), 'torch legacy');
  // widening on request gives the dtypes nabla used before (float32 values of the half bits)
  const w = await io.loadSafetensors(ioGolden('all_dtypes.safetensors'), { widen: true });
  assert.deepEqual(
    [w.f16.dtype, w.bf16.dtype, w.i8.dtype, w.u8.dtype, w.i64.dtype],
    ['float32', 'float32', 'int32', 'int32', 'int32'],
  );
  const k = await io.loadSafetensors(ioGolden('all_dtypes.safetensors'));
  assert.deepEqual(k.f16.float().tolist(), w.f16.tolist());
  assert.deepEqual(k.bf16.float().tolist(), w.bf16.tolist());
  // an int64 beyond int32 loads exactly as int64 (it only failed when widened to int32)
  const big = await io.loadSafetensors(ioGolden('i64_overflow.safetensors'));
  assert.deepEqual(big.big.tolist(), [0, 5_000_000_000]);
  assert.equal(big.big.dtype, 'int64');
});

test('an I64 value beyond 2^53 is refused with the file and tensor named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-dtypes-'));
  try {
    const path = join(dir, 'huge.safetensors');
    // written through the I64 encoder from a safe value, then patched to 2^60 in the file's bytes
    await io.saveSafetensors({ x: nb.tensor([1, 2], { dtype: 'int64' }) }, path);
    const b = readFileSync(path);
    const at = b.length - 8;
    b.writeBigInt64LE(2n ** 60n, at);
    writeFileSync(path, b);
    await assert.rejects(
      io.loadSafetensors(path),
      /huge\.safetensors.*tensor 'x' \(I64\) holds 1152921504606846976 at flat index 1, which does not fit in nabla's int64/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saving writes the dtypes back: safetensors and torch round trips are bit for bit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nabla-dtypes-'));
  try {
    const sd = await io.loadSafetensors(ioGolden('all_dtypes.safetensors'));
    for (const f of ['a.safetensors', 'a.pt']) {
      await nb.save(sd, join(dir, f));
      const back = await nb.load(join(dir, f));
      for (const k of Object.keys(sd)) {
        assert.equal(back[k].dtype, sd[k].dtype, `${f} ${k}: dtype`);
        assert.deepEqual(bits(back[k]), bits(sd[k]), `${f} ${k}: storage`);
      }
    }
    const st = io.parseSafetensorsHeader(new io.BufferSource(readFileSync(join(dir, 'a.safetensors'))));
    const types = Object.fromEntries(st.entries.map((e) => [e.name, e.dtype]));
    assert.deepEqual([types.f16, types.bf16, types.i8, types.u8, types.i64], ['F16', 'BF16', 'I8', 'U8', 'I64']);
    // made in nabla: a cast and back, stored as is
    const made = { h: nb.tensor([0.1, -2, 65504], { dtype: 'float16' }), q: nb.tensor([-3, 7], { dtype: 'int8' }) };
    await nb.save(made, join(dir, 'm.safetensors'));
    const m = await nb.load(join(dir, 'm.safetensors'));
    assert.deepEqual(bits(m.h), bits(made.h));
    assert.deepEqual(m.q.tolist(), [-3, 7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadStateDict casts half and integer checkpoints into a float32 module', async () => {
  const lin = new nb.nn.Linear(2, 2);
  const w = nb.tensor(
    [
      [0.1, -0.5],
      [2, 3.25],
    ],
    { dtype: 'bfloat16' },
  );
  const b = nb.tensor([1, -2], { dtype: 'int64' });
  lin.loadStateDict({ weight: w, bias: b });
  assert.equal(lin.weight.dtype, 'float32');
  assert.deepEqual(lin.weight.tolist(), w.float().tolist());
  assert.deepEqual(lin.bias!.tolist(), [1, -2]);
});
