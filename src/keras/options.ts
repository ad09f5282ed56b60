// Option-name checks for compile / fit / evaluate / predict / save: an unknown name (a Python
// spelling such as batch_size, or a typo) is an error naming it and the likely intended option,
// instead of being ignored silently.

/** Throws when `opts` has a key outside `known`: "fit: unknown option 'batch_size'; did you mean 'batchSize'?". */
export function checkOptionNames(opts: unknown, known: readonly string[], op: string): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new Error(`${op}: expected an options object, got ${Array.isArray(opts) ? 'an array' : typeof opts}`);
  }
  for (const k of Object.keys(opts)) {
    if (known.includes(k)) continue;
    const hint = suggest(k, known);
    throw new Error(
      `${op}: unknown option '${k}'${hint ? `; did you mean '${hint}'?` : ''} (options: ` + `${known.join(', ')})`,
    );
  }
}

/** The known name closest to `k`: its camelCase form (batch_size -> batchSize), a case change, or a near spelling. */
function suggest(k: string, known: readonly string[]): string | undefined {
  const camel = k.replace(/_+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
  const fold = (s: string) => s.replace(/_/g, '').toLowerCase();
  const exact = known.find((n) => n === camel) ?? known.find((n) => fold(n) === fold(k));
  if (exact) return exact;
  let best: string | undefined,
    bestD = Math.max(2, Math.floor(k.length / 3)) + 1;
  for (const n of known) {
    const d = editDistance(fold(k), fold(n));
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
