// Optimizer steps, in place on contiguous float32: SGD and Adam / AdamW (PyTorch semantics). Adam's
// update runs on the per-ISA table (optim_impl.h).
#include <math.h>
#include <stdint.h>
#include "optim.h"

NB_ISA_SELECT(nb_optim_impl, nb_optim_select, nb_optim_scalar, nb_optim_avx2, nb_optim_avx512)

typedef struct {
  const nb_optim_impl *isa;
  float *p, *m, *v;
  const float *g;
  nb_adam_args adam;
  float lr, wd, momentum, dampening;
  int nesterov, first;
} opt_job;

static void adam_chunks(void *q, int64_t lo, int64_t hi) {
  const opt_job *j = (const opt_job *)q;
  j->isa->adam(j->p + lo, j->g + lo, j->m + lo, j->v + lo, hi - lo, &j->adam);
}

// Adam (decoupled=0, weight decay added to the gradient) or AdamW (decoupled=1) at step t >= 1.
// NOTE: 1 - beta is formed in double: in float32, 1 - 0.999f is off by 1.3e-5 relative.
void nb_adam_f32(float *p, float *m, float *v, const float *g, int64_t n, float lr, double beta1, double beta2,
                 float eps, float wd, int decoupled, double step) {
  double bc1 = 1.0 - pow(beta1, step), bc2 = 1.0 - pow(beta2, step);
  opt_job j = {.isa = nb_optim_select(),
               .p = p,
               .m = m,
               .v = v,
               .g = g,
               .adam = {(float)beta1, (float)beta2, (float)(1.0 - beta1), (float)(1.0 - beta2), eps, wd, lr,
                        (float)(lr / bc1), (float)(1.0 / sqrt(bc2)), decoupled}};
  nb_parallel_for(n, 8.0, adam_chunks, &j);
}

static void sgd_chunks(void *q, int64_t lo, int64_t hi) {
  const opt_job *j = (const opt_job *)q;
  for (int64_t i = lo; i < hi; i++) {
    float g = j->g[i] + j->wd * j->p[i];
    if (j->m) {
      float b = j->first ? g : j->momentum * j->m[i] + (1.0f - j->dampening) * g;
      j->m[i] = b;
      g = j->nesterov ? g + j->momentum * b : b;
    }
    j->p[i] -= j->lr * g;
  }
}

// SGD with optional momentum buffer `buf` (NULL: none), dampening, Nesterov and weight decay.
void nb_sgd_f32(float *p, float *buf, const float *g, int64_t n, float lr, float momentum, float dampening, float wd,
                int nesterov, int first) {
  opt_job j = {.p = p,
               .m = buf,
               .g = g,
               .lr = lr,
               .momentum = momentum,
               .dampening = dampening,
               .wd = wd,
               .nesterov = nesterov,
               .first = first};
  nb_parallel_for(n, 4.0, sgd_chunks, &j);
}
