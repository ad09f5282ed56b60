// `npm run lint`: Biome (format and lint of the TypeScript and scripts), clang-format (the addon's C),
// and a 120-column limit on every source line, which neither formatter enforces for strings and comments.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const LIMIT = 120;
const REGEX_LINE = /^\s*\/.+\/[dgimsuy]*[,;)]*$/;
let failed = false;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) console.error(`lint: could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) failed = true;
}

function walk(dir, exts, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'build' || name === 'golden' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, exts, out);
    // generated files (npm run gen:native) are checked against their generator by a test instead
    else if (exts.some((e) => name.endsWith(e)) && !/\.gen\.\w+$/.test(name)) out.push(p);
  }
  return out;
}

run(join(root, 'node_modules', '.bin', 'biome'), ['ci', '.']);
const cfiles = walk(join(root, 'native'), ['.c', '.h']).map((p) => relative(root, p));
run('clang-format', ['--dry-run', '--Werror', ...cfiles]);

const sources = ['src', 'test', 'bench', 'examples', 'scripts', 'tools', 'native'].flatMap((d) =>
  walk(join(root, d), ['.ts', '.mjs', '.js', '.c', '.h', '.py']),
);
let long = 0;
for (const file of sources) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      // NOTE: as ESLint's max-len with ignoreRegExpLiterals: a line holding only a regular expression
      // (an expected error message, a tokenizer's pattern) cannot be split without obscuring it.
      if (line.length > LIMIT && !REGEX_LINE.test(line)) {
        long++;
        console.error(`${relative(root, file)}:${i + 1}: ${line.length} columns (limit ${LIMIT})`);
      }
    });
}
if (long) failed = true;
console.log(failed ? 'lint: failed' : `lint: ok (${sources.length} files within ${LIMIT} columns)`);
process.exit(failed ? 1 : 0);
