// Builds the WASM backend from the native kernels' C sources (native/README.md, "WebAssembly"):
// native/wasm/nabla.wasm (SIMD128 + atomics over shared memory: the worker pool) and nabla-st.wasm
// (SIMD128, one thread, for pages without SharedArrayBuffer). Debian's clang and wasm-ld, with
// wasi-libc for the string functions and libm and compiler-rt's wasm32 builtins (apt: clang lld
// wasi-libc libclang-rt-14-dev-wasm32). The output is byte-for-byte reproducible: no paths, dates or
// debug info go in, and the sources are compiled in a fixed order. Both files are committed, so users
// never need the toolchain; test/wasm/build.test.ts rebuilds them and compares.
//   node scripts/build-wasm.mjs [--out DIR] [--check]   (--check: build into a temp dir and compare)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');
const args = process.argv.slice(2);
const check = args.includes('--check');
const outArg = args.indexOf('--out');
const out = check ? mkdtempSync(join(tmpdir(), 'nabla-wasm-')) : outArg >= 0 ? args[outArg + 1] : join(native, 'wasm');

/** The first of the names that exists on PATH, or undefined. */
function tool(...names) {
  for (const n of names) if (spawnSync(n, ['--version'], { stdio: 'ignore' }).status === 0) return n;
  return undefined;
}

const clang = tool('clang-14', 'clang');
const ld = tool('wasm-ld-14', 'wasm-ld');
const SYSROOT = '/usr';
const LIBC = '/usr/lib/wasm32-wasi/libc.a';
/** compiler-rt's wasm32 builtins (__multi3 for the 128-bit bounds checks, ...), wherever clang keeps them. */
function builtins() {
  const r = spawnSync(clang ?? 'clang', ['--target=wasm32-wasi', '-print-libgcc-file-name', '-rtlib=compiler-rt']);
  const p = String(r.stdout ?? '').trim();
  return p && existsSync(p) ? p : undefined;
}
const rt = clang ? builtins() : undefined;
const missing = [
  !clang && 'clang',
  !ld && 'wasm-ld (lld)',
  !existsSync(LIBC) && `${LIBC} (wasi-libc)`,
  clang && !rt && 'compiler-rt wasm32 builtins (libclang-rt-14-dev-wasm32)',
].filter(Boolean);
if (missing.length) {
  console.error(
    `build-wasm: missing ${missing.join(', ')} (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)`,
  );
  process.exit(2);
}

// Every portable source: the x86 ISA builds (*_avx2.c, *_avx512.c) stay with the addon, and the
// WebAssembly layer (src/wasm) stands in for Node-API and pthreads (src/napi still compiles: it reads
// its arguments through src/wasm/include/node_api.h). src/distributed is the separate MPI addon.
const families = readdirSync(join(native, 'src'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'distributed')
  .map((d) => d.name)
  .sort();
const sources = families.flatMap((f) =>
  readdirSync(join(native, 'src', f))
    .filter((n) => n.endsWith('.c') && !/_(avx2|avx512|amx|avxvnni|vnni512)\.c$/.test(n))
    .sort()
    .map((n) => join('src', f, n)),
);
const includes = ['src/wasm/include', 'include', 'src', ...families.map((f) => `src/${f}`)].map((d) => `-I${d}`);

const common = [
  '--target=wasm32-wasi',
  `--sysroot=${SYSROOT}`,
  '-std=gnu11',
  '-O3',
  '-msimd128',
  '-mbulk-memory',
  '-mmutable-globals',
  '-mnontrapping-fptoint',
  '-msign-ext',
  '-fno-math-errno',
  '-fno-trapping-math',
  '-ftls-model=local-exec',
  '-ffile-prefix-map=' + native + '=.',
  '-Wall',
  '-Wno-unused-function',
  '-Wno-bitwise-conditional-parentheses',
  ...includes,
];

// The module's memory comes from JS (src/backend/wasm/load.ts makes it: WASM_INITIAL_PAGES there).
const INITIAL = 4 << 20;
const MAX = 4096 * 1024 * 1024;
const variants = [
  {
    file: 'nabla.wasm',
    cflags: ['-matomics'],
    ldflags: ['--shared-memory', `--max-memory=${MAX}`, '--export=__stack_pointer'],
  },
  // NOTE: one thread, so thread-locals are plain globals (wasm-ld wants atomics for TLS)
  { file: 'nabla-st.wasm', cflags: ['-D_Thread_local='], ldflags: [`--max-memory=${MAX}`] },
];

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: native, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`build-wasm: ${cmd} ${argv.join(' ')}\n${r.stderr}${r.stdout}`);
    process.exit(1);
  }
  if (r.stderr.trim()) process.stderr.write(r.stderr);
}

mkdirSync(out, { recursive: true });
const objDir = mkdtempSync(join(tmpdir(), 'nabla-wasm-obj-'));
try {
  for (const v of variants) {
    const objs = sources.map((s, i) => {
      const o = join(objDir, `${v.file}.${i}.o`);
      run(clang, [...common, ...v.cflags, '-c', s, '-o', o]);
      return o;
    });
    run(ld, [
      '--no-entry',
      '--import-memory',
      `--initial-memory=${INITIAL}`,
      '-z',
      'stack-size=1048576',
      '--strip-all',
      ...v.ldflags,
      ...objs,
      LIBC,
      rt,
      '-o',
      join(out, v.file),
    ]);
  }
} finally {
  rmSync(objDir, { recursive: true, force: true });
}

if (check) {
  const differ = variants
    .map((v) => v.file)
    .filter(
      (f) =>
        !existsSync(join(native, 'wasm', f)) ||
        !readFileSync(join(out, f)).equals(readFileSync(join(native, 'wasm', f))),
    );
  rmSync(out, { recursive: true, force: true });
  if (differ.length) {
    console.error(
      `build-wasm: native/wasm/${differ.join(', ')} differ from a fresh build of the sources (run npm run build:wasm)`,
    );
    process.exit(1);
  }
  console.log('build-wasm: native/wasm matches its sources');
} else {
  for (const v of variants) console.log(`build-wasm: ${relative(root, join(out, v.file))}`);
}
