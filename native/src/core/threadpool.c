// A persistent pthread pool. nb_parallel(fn, ctx, n) runs fn(ctx, t, n) for the n tasks t = 0..n-1
// and returns when all are done. The caller takes tasks too, and tasks are claimed from a shared
// counter, so a worker that is slow to wake (an oversubscribed machine) never stalls a call: the
// caller simply runs the remaining tasks itself. Workers spin briefly after each job (small kernels
// come in bursts), then sleep on a condition variable. Nested or concurrent calls run serially. The
// WebAssembly build also runs calls on the caller alone while its workers arrive late (join_score).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "core.h"
#if defined(__wasm_atomics__)
double nb_clock_ms(void); /* src/wasm/threads.c: milliseconds, the same clock in every worker */
#endif

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* guards workers' sleep */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER; /* one nb_parallel at a time */
static atomic_uint_fast64_t next; /* (job id << 32) | next task index: a stale worker cannot claim */
static atomic_long pending;       /* tasks of the current job not finished yet */
static atomic_uint job_id;        /* bumped per job; workers wake on a change */
static nb_task_fn job_fn;
static void *job_ctx;
static long job_n;
static int n_workers;
static int want_threads = -1;
static _Thread_local int in_task;

#define SPIN_ITERS 100000

static inline void cpu_relax(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

/* Claims and runs tasks of job `id` until none are left; returns how many it ran. */
static int run_tasks(unsigned id) {
  for (int ran = 0;; ran++) {
    uint_fast64_t v = atomic_load_explicit(&next, memory_order_acquire);
    for (;;) {
      if ((unsigned)(v >> 32) != id || (long)(v & 0xffffffffu) >= job_n) return ran;
      if (atomic_compare_exchange_weak_explicit(&next, &v, v + 1, memory_order_acq_rel, memory_order_acquire)) break;
    }
    /* holding a task keeps the job (fn, ctx, n) alive: the caller waits for pending == 0 */
    job_fn(job_ctx, (int)(v & 0xffffffffu), (int)job_n);
    atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
  }
}

#if defined(__wasm_atomics__)
// Late workers. On an oversubscribed machine (more runnable threads than cores: other pages, tabs
// or processes computing too) a woken worker often runs a time slice later, after the caller has
// taken every task, or is descheduled holding one; and its time slices come out of the page's own
// share. A kernel then takes longer on two threads than on one (an MLP training step, on a 2-core
// VM loaded ~10x, ran 1.4-1.9x slower on two, its worker taking ~8% of the tasks). So each job
// records when its first worker arrived: a worker that arrives 1 ms or more after the job started,
// or a job whose caller ran every task for 1 ms or more without one arriving, is late. After two
// late jobs in a row the next calls run on the caller alone: 16 of them, then twice as many each
// time the workers are late again, up to 4096; a worker that arrives within 0.25 ms resets that.
// Idle cores wake a worker in tens of microseconds, so an idle machine never trips it.
static _Atomic double job_start;     /* nb_clock_ms() when the job was published */
static atomic_uint_fast64_t arrival; /* (job id << 32) | microseconds until its first worker ran a task */
static int late_jobs, alone_calls, alone_next = 16;

/* A worker that ran tasks of job `id`, having seen it `us` microseconds after it was published. */
static void note_arrival(unsigned id, double us) {
  if (us < 0) us = 0;
  uint_fast64_t none = (uint_fast64_t)id << 32 | 0xffffffffu;
  uint_fast64_t mine = (uint_fast64_t)id << 32 | (uint32_t)(us < 4e9 ? us : 4e9);
  atomic_compare_exchange_strong(&arrival, &none, mine);
}

static void join_score(unsigned id, double own_ms) {
  uint_fast64_t a = atomic_load(&arrival);
  int64_t us = (unsigned)(a >> 32) == id && (uint32_t)a != 0xffffffffu ? (int64_t)(uint32_t)a : -1;
  if (us >= 1000 || (us < 0 && own_ms >= 1.0)) {
    if (++late_jobs >= 2) {
      late_jobs = 0;
      alone_calls = alone_next;
      alone_next = alone_next < 4096 ? 2 * alone_next : 4096;
    }
  } else if (us >= 0 && us < 250) {
    late_jobs = 0;
    alone_next = 16;
  }
}
#endif

static void *worker(void *arg) {
  (void)arg;
  unsigned seen = atomic_load(&job_id);
  in_task = 1;
  for (;;) {
    unsigned id = atomic_load_explicit(&job_id, memory_order_acquire);
    for (int i = 0; id == seen && i < SPIN_ITERS; i++) {
      cpu_relax();
      id = atomic_load_explicit(&job_id, memory_order_acquire);
    }
    if (id == seen) {
      pthread_mutex_lock(&mu);
      while ((id = atomic_load_explicit(&job_id, memory_order_acquire)) == seen) pthread_cond_wait(&cv, &mu);
      pthread_mutex_unlock(&mu);
    }
    seen = id;
#if defined(__wasm_atomics__)
    /* NOTE: timed before claiming, so a long first task does not count as lateness */
    double us = (nb_clock_ms() - atomic_load_explicit(&job_start, memory_order_relaxed)) * 1000.0;
    if (run_tasks(id) > 0) note_arrival(id, us);
#else
    run_tasks(id);
#endif
  }
  return NULL;
}

static int cores(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int nb_num_threads(void) {
  if (want_threads < 0) {
    const char *e = getenv("NABLA_NUM_THREADS");
    int n = e ? atoi(e) : 0;
    want_threads = n > 0 ? n : cores();
    if (want_threads > NB_MAX_THREADS) want_threads = NB_MAX_THREADS;
  }
  return want_threads;
}

void nb_set_num_threads(int n) { want_threads = n < 1 ? 1 : n > NB_MAX_THREADS ? NB_MAX_THREADS : n; }

static void ensure_workers(int n) {
  while (n_workers < n - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int ok = pthread_create(&t, &attr, worker, NULL) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    n_workers++;
  }
}

void nb_parallel(nb_task_fn fn, void *ctx, int n) {
  if (n < 1) return;
  int alone = n == 1 || nb_num_threads() == 1 || in_task;
#if defined(__wasm_atomics__)
  if (!alone && alone_calls > 0) {
    alone_calls--;
    alone = 1;
  }
#endif
  if (alone || pthread_mutex_trylock(&call_mu) != 0) {
    for (int t = 0; t < n; t++) fn(ctx, t, n);
    return;
  }
  ensure_workers(nb_num_threads());
  unsigned id = atomic_load(&job_id) + 1;
  job_fn = fn;
  job_ctx = ctx;
  job_n = n;
  atomic_store_explicit(&pending, n, memory_order_relaxed);
#if defined(__wasm_atomics__)
  atomic_store_explicit(&job_start, nb_clock_ms(), memory_order_relaxed);
  atomic_store_explicit(&arrival, (uint_fast64_t)id << 32 | 0xffffffffu, memory_order_relaxed);
#endif
  atomic_store_explicit(&next, (uint_fast64_t)id << 32, memory_order_release);
  pthread_mutex_lock(&mu);
  atomic_store_explicit(&job_id, id, memory_order_release);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  in_task = 1;
  run_tasks(id);
  in_task = 0;
#if defined(__wasm_atomics__)
  const double own_ms = nb_clock_ms() - atomic_load_explicit(&job_start, memory_order_relaxed);
#endif
  while (atomic_load_explicit(&pending, memory_order_acquire) > 0) cpu_relax();
#if defined(__wasm_atomics__)
  join_score(id, own_ms);
#endif
  pthread_mutex_unlock(&call_mu);
}

// nb_parallel_for (core.h): n items split evenly over up to all threads, one range each.
typedef struct {
  nb_range_fn fn;
  void *ctx;
  int64_t n;
} pfor;
static void pfor_task(void *p, int tid, int nt) {
  const pfor *f = (const pfor *)p;
  int64_t lo = f->n * tid / nt, hi = f->n * (tid + 1) / nt;
  if (lo < hi) f->fn(f->ctx, lo, hi);
}

void nb_parallel_for(int64_t n, double cost, nb_range_fn fn, void *ctx) {
  int nt = nb_num_threads();
  double work = (double)n * cost;
  if (work < 262144.0) nt = 1;
  if (nt > n) nt = (int)n;
  if (nt <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  pfor f = {fn, ctx, n};
  nb_parallel(pfor_task, &f, nt);
}
