# PyTorch side of `npm run bench`: times the rows given as JSON on argv[1] and prints one JSON object
# {row id: best milliseconds}. Run by bench/run.ts with Debian's /usr/bin/python3 and
# OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 GOMP_SPINCOUNT=0 (without the last, OpenMP's spin-wait
# fights OpenBLAS's threads).
import json, sys, time
import torch
import torch.nn.functional as F

torch.set_grad_enabled(False)
spec = json.loads(sys.argv[1])
torch.set_num_threads(spec.get("threads", 2))
budget = spec.get("seconds", 0.5)


def best_ms(fn):
    fn(); fn()
    best, t0, reps = 1e30, time.perf_counter(), 0
    while reps < 3 or time.perf_counter() - t0 < budget:
        t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t); reps += 1
    return best * 1e3


out = {}
for row in spec["rows"]:
    k, a = row["kind"], row.get("args", {})
    if k == "matmul":
        x, w = torch.randn(a["M"], a["K"]), torch.randn(a["K"], a["N"])
        out[row["id"]] = best_ms(lambda: torch.mm(x, w))
    elif k in ("conv", "convBackward"):
        x = torch.randn(a["N"], a["C"], a["H"], a["W"]); w = torch.randn(a["OC"], a["C"], 3, 3)
        if k == "conv":
            out[row["id"]] = best_ms(lambda: F.conv2d(x, w, padding=1))
        else:
            dy = torch.randn(a["N"], a["OC"], a["H"], a["W"])
            out[row["id"]] = best_ms(lambda: torch.ops.aten.convolution_backward(
                dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, False]))
    elif k == "softmax":
        x = torch.randn(a["R"], a["C"])
        out[row["id"]] = best_ms(lambda: torch.softmax(x, -1))
    elif k == "layerNorm":
        x, g, b = torch.randn(a["R"], a["C"]), torch.randn(a["C"]), torch.randn(a["C"])
        out[row["id"]] = best_ms(lambda: F.layer_norm(x, (a["C"],), g, b))
    elif k == "add":
        x, y = torch.randn(a["n"]), torch.randn(a["n"])
        out[row["id"]] = best_ms(lambda: x + y)
    elif k == "qlinear":
        # dynamic int8 Linear on the onednn engine (Debian's build has no fbgemm), x (M,K) float
        torch.backends.quantized.engine = "onednn"
        lin = torch.nn.Sequential(torch.nn.Linear(a["K"], a["N"], bias=False))
        q = torch.ao.quantization.quantize_dynamic(lin, {torch.nn.Linear}, dtype=torch.qint8)
        x = torch.randn(a["M"], a["K"])
        out[row["id"]] = best_ms(lambda: q(x))
print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "ms": out}))
