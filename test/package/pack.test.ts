// The package as a user gets it: `npm pack` from a clean copy of the tree (no dist/, so prepack must build
// it), `npm install` of the tarball into a new project (the addon builds from source there, with node-gyp),
// tsc type-checks a TypeScript consumer against the shipped .d.ts without @types/node, and node runs it.
// Slow (a tsc build, a C build, an npm install): about a minute on two cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/data.js';

const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// NOTE: without NODE_TEST_CONTEXT (the child would report to this runner), the npm_* variables of an
// enclosing `npm test` (they would steer the inner npm: lifecycle, prefix, config) and NABLA_BACKEND.
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_TEST_CONTEXT' || k === 'NABLA_BACKEND' || k.toLowerCase().startsWith('npm_')) continue;
    env[k] = v;
  }
  return env;
}

type Run = { code: number; stdout: string; out: string };

function run(cmd: string, args: string[], cwd: string): Run {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 400_000 });
  const stdout = r.stdout ?? '';
  return { code: r.status ?? -1, stdout, out: `${stdout}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Stdout of a run that must succeed. */
function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what} failed:\n${r.out}`);
  return r.stdout;
}

/** The files a fresh clone has (tracked plus untracked-but-not-ignored), or null outside a git checkout. */
function cloneFiles(): string[] | null {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) return null;
  return r.stdout.split('\0').filter((f) => f && existsSync(join(REPO_ROOT, f)));
}

const CONSUMER = `import * as nb from 'nabla';

const a: nb.Tensor = nb.tensor([[1, 2], [3, 4]]);
const lin = new nb.nn.Linear(2, 3);
const y = nb.relu(lin.forward(nb.matmul(a, a)));
y.sum().backward();
console.log(
  JSON.stringify({
    version: nb.version,
    backend: nb.backend().name,
    mm: nb.matmul(a, a).tolist(),
    shape: y.shape,
    gradShape: lin.weight.grad?.shape,
  }),
);
`;
// Must not type-check: proves the consumer really sees nabla's types rather than any.
const WRONG = `import * as nb from 'nabla';
const s: string = nb.tensor([1]);
nb.matmul(nb.tensor([1]), 'x');
`;

const files = cloneFiles();
const nativeBuilt = existsSync(join(REPO_ROOT, 'native', 'build', 'Release', 'nabla.node'));

test('npm pack ships a package that installs, type-checks and runs in a new project', {
  timeout: 900_000,
  skip: files ? false : 'not a git checkout: cannot tell which files a fresh clone has',
}, (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'nabla-pack-'));
  try {
    // A fresh clone: no dist/, no native/build; node_modules only for the build tools (tsc).
    const clone = join(tmp, 'clone');
    for (const f of files ?? []) {
      mkdirSync(dirname(join(clone, f)), { recursive: true });
      cpSync(join(REPO_ROOT, f), join(clone, f));
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const packed = JSON.parse(
      ok(run(NPM, ['pack', '--json', '--pack-destination', tmp, '--loglevel=error'], clone), 'npm pack').replace(
        /^[^[]*/s,
        '',
      ),
    ) as { filename: string; files: { path: string }[] }[];
    const shipped = new Set(packed[0].files.map((f) => f.path));
    for (const need of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      'native/binding.gyp',
      'native/src/napi/register.c',
      'native/src/gemm/gemm_avx512.c',
      'scripts/build-native.mjs',
      'data/digits/digits-images-idx3-ubyte',
    ]) {
      assert.ok(shipped.has(need), `the tarball lacks ${need}`);
    }
    const extra = [...shipped].filter((f) => /^(test|dist\/test|bench|examples|tools|native\/(test|bench))\//.test(f));
    assert.deepEqual(extra, [], 'the tarball ships development files');

    // A new project installs the tarball; its dependencies come from the npm cache or registry.
    const app = join(tmp, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const tgz = join(tmp, packed[0].filename);
    const inst = run(NPM, ['install', tgz, '--prefer-offline', '--no-audit', '--no-fund'], app);
    if (inst.code !== 0 && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|E503|ENOTCACHED/.test(inst.out)) {
      t.skip(`npm cannot fetch nabla's dependencies (no registry, no cache):\n${inst.out.slice(-400)}`);
      return;
    }
    ok(inst, 'npm install of the tarball');
    const addon = existsSync(join(app, 'node_modules', 'nabla', 'native', 'build', 'Release', 'nabla.node'));
    if (nativeBuilt && process.env.NABLA_SKIP_NATIVE_BUILD !== '1') {
      assert.ok(addon, 'the addon builds here but did not build at install');
    }

    // tsc with Node's own module rules and no @types/node: the .d.ts must stand alone.
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        types: [],
        outDir: 'dist',
        rootDir: 'src',
      },
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['src'] }));
    writeFileSync(join(app, 'src', 'main.ts'), CONSUMER);
    ok(run(process.execPath, [TSC, '-p', '.'], app), 'tsc on the consumer');
    writeFileSync(
      join(app, 'tsconfig.wrong.json'),
      JSON.stringify({
        compilerOptions: { ...tsconfig.compilerOptions, rootDir: '.' },
        files: ['wrong.ts'],
      }),
    );
    writeFileSync(join(app, 'wrong.ts'), WRONG);
    const wrong = run(process.execPath, [TSC, '-p', 'tsconfig.wrong.json', '--noEmit'], app);
    assert.notEqual(wrong.code, 0, 'tsc accepted a string typed as a Tensor');
    assert.match(wrong.out, /wrong\.ts\(2,7\).*Tensor.*string/);
    assert.match(wrong.out, /wrong\.ts\(3,/);

    const res = JSON.parse(ok(run(process.execPath, ['dist/main.js'], app), 'the consumer').trim());
    assert.deepEqual(res, {
      version: PKG.version,
      backend: addon ? 'native' : 'js',
      mm: [
        [7, 10],
        [15, 22],
      ],
      shape: [2, 3],
      gradShape: [3, 2],
    });
    const bin = join(app, 'node_modules', '.bin', 'nabla');
    assert.equal(ok(run(bin, ['--version'], app), 'nabla --version'), `${PKG.version}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
