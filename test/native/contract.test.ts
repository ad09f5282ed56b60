// The native contract (native/src/napi/kernels.def): the committed generated files are fresh, the
// addon exports exactly what kernels.def declares, the loader names what a mismatched addon lacks,
// and supports() / the op sets come from the addon itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { checkAddon, ContractView, type NablaAddon, type NativeContract } from '../../src/backend/native/contract.js';
import { NATIVE_KERNELS } from '../../src/backend/native/contract.gen.js';
import { BinaryOp, ReduceOp, UnaryOp } from '../../src/backend/op_codes.js';
import { Layout } from '../../src/tensor/layout.js';
import { native, skip } from './helpers.js';

test('contract: contract.gen.ts and op_codes.gen.h are what `npm run gen:native` makes', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-native.mjs', '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('contract: the addon exports exactly the kernels of kernels.def, each a function', { skip }, () => {
  const addon = native!.addon as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(addon).sort(), Object.keys(NATIVE_KERNELS).sort());
  for (const k of Object.keys(NATIVE_KERNELS)) assert.equal(typeof addon[k], 'function', k);
  assert.equal(checkAddon(native!.addon), null);
  const c = native!.addon.contract();
  for (const [k, decl] of Object.entries(NATIVE_KERNELS)) {
    assert.equal(c.kernels[k].signature, decl.signature, k);
    assert.deepEqual(c.kernels[k].dtypes, [...decl.dtypes], k);
  }
});

test('contract: the loader names every export a mismatched addon lacks or declares differently', { skip }, () => {
  const real = native!.addon;
  const partial: Record<string, unknown> = { ...real };
  delete partial.conv2dFused;
  delete partial.attentionKv;
  assert.match(checkAddon(partial) ?? '', /lacks conv2dFused, attentionKv$/);
  assert.match(checkAddon({}) ?? '', /lacks contract, cpuInfo, setNumThreads/);
  assert.equal(checkAddon(null), 'it is not an object');
  const c = real.contract();
  const older: NativeContract = { kernels: { ...c.kernels }, opsets: { ...c.opsets } };
  older.kernels.unary = { ...c.kernels.unary, signature: 'op:int y:f32 x:f32 lx:layout(x)' };
  delete older.kernels.linear;
  delete older.opsets.compare;
  const why = checkAddon({ ...real, contract: () => older });
  assert.match(why ?? '', /another kernels\.def/);
  assert.match(why ?? '', /linear \(not in contract\(\)\)/);
  assert.match(why ?? '', /unary takes \(op:int y:f32 x:f32 lx:layout\(x\)\), expected \(op:op\(unary\)/);
  assert.match(why ?? '', /op set compare/);
  const throwing = checkAddon({
    ...real,
    contract: () => {
      throw new Error('boom');
    },
  });
  assert.equal(throwing, 'contract() failed: boom');
});

test('contract: supports(kernel, dtype, op) and the op sets come from the addon', { skip }, () => {
  const v = native!.contract;
  assert.ok(v.supports('unary', 'float32', UnaryOp.EXP));
  assert.ok(v.supports('unary', 'float32'));
  assert.ok(!v.supports('unary', 'float32', UnaryOp.SIN));
  assert.ok(!v.supports('unary', 'int32', UnaryOp.EXP));
  assert.ok(v.supports('linear', 'float32', UnaryOp.GELU));
  assert.ok(!v.supports('linear', 'float32', UnaryOp.LEAKY_RELU));
  assert.ok(v.supports('binary', 'float32', BinaryOp.THRESHOLD_BACKWARD));
  assert.ok(!v.supports('binary', 'float32', BinaryOp.EQ));
  assert.ok(v.supports('compare', 'float32', BinaryOp.EQ));
  assert.ok(v.supports('reduce', 'float32', ReduceOp.MIN));
  assert.ok(!v.supports('reduce', 'float32', ReduceOp.ANY));
  assert.ok(v.supports('castToF32', 'int32') && v.supports('castToF32', 'bool') && !v.supports('castToF32', 'float32'));
  assert.ok(!v.supports('cpuInfo', 'float32'));
  // Every op in every set is a code of its family (op_codes.gen.h is generated from op_codes.ts).
  const family = { unary: UnaryOp, linear: UnaryOp, binary: BinaryOp, compare: BinaryOp, reduce: ReduceOp } as const;
  for (const [set, e] of Object.entries(family)) {
    for (const op of v.ops[set as keyof typeof family]) {
      assert.equal(typeof (e as Record<number, unknown>)[op], 'string', `${set} ${op}`);
    }
  }
  // The backend declines what the contract leaves out, so the registry runs the JS kernel.
  const x = Float32Array.from([0, 1, 2]);
  assert.equal(native!.unary(UnaryOp.SIN, x, Layout.contiguous([3]), 'float32'), undefined);
  assert.ok(native!.unary(UnaryOp.EXP, x, Layout.contiguous([3]), 'float32') instanceof Float32Array);
});

test('contract: a ContractView built from a contract with fewer ops declines the rest', () => {
  const c: NativeContract = {
    kernels: { unary: { dtypes: ['float32'], returns: 'void', signature: '' } },
    opsets: { unary: [UnaryOp.EXP], linear: [], binary: [], compare: [], reduce: [] },
  };
  const v = new ContractView(c);
  assert.ok(v.supports('unary', 'float32', UnaryOp.EXP));
  assert.ok(!v.supports('unary', 'float32', UnaryOp.NEG));
  assert.ok(!v.supports('matmul', 'float32'));
  const addon: Partial<NablaAddon> = {};
  assert.match(checkAddon(addon) ?? '', /^it lacks /);
});
