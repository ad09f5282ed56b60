// A persistent pthread pool. nb_parallel(fn, ctx, n) runs fn(ctx, tid, n) for tid 0..n-1 with the
// caller as tid 0 and returns when all are done. Workers spin briefly after each job (small kernels
// come in bursts), then sleep on a condition variable. Nested or concurrent calls run serially.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "../include/nabla.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;   /* guards workers' sleep */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER; /* one nb_parallel at a time */
static atomic_llong gen; /* (generation << 8) | job thread count, read atomically together */
static atomic_int pending;
static nb_task_fn job_fn;
static void *job_ctx;
static int n_workers;      /* pool threads started (tids 1..n_workers) */
static int want_threads = -1;
static _Thread_local int in_task;

#define SPIN_ITERS 200000

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  long long seen = 0;
  in_task = 1;
  for (;;) {
    long long g = atomic_load_explicit(&gen, memory_order_acquire);
    for (int i = 0; g == seen && i < SPIN_ITERS; i++) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      g = atomic_load_explicit(&gen, memory_order_acquire);
    }
    if (g == seen) {
      pthread_mutex_lock(&mu);
      while ((g = atomic_load_explicit(&gen, memory_order_acquire)) == seen) pthread_cond_wait(&cv, &mu);
      pthread_mutex_unlock(&mu);
    }
    seen = g;
    int n = (int)(g & 0xff);
    if (id < n) {
      job_fn(job_ctx, id, n);
      atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
    }
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

void nb_set_num_threads(int n) {
  want_threads = n < 1 ? 1 : n > NB_MAX_THREADS ? NB_MAX_THREADS : n;
}

static void ensure_workers(int n) {
  while (n_workers < n - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int ok = pthread_create(&t, &attr, worker, (void *)(intptr_t)(n_workers + 1)) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    n_workers++;
  }
}

void nb_parallel(nb_task_fn fn, void *ctx, int n) {
  if (n > nb_num_threads()) n = nb_num_threads();
  if (n <= 1 || in_task || pthread_mutex_trylock(&call_mu) != 0) {
    for (int t = 0; t < (n < 1 ? 1 : n); t++) fn(ctx, t, n < 1 ? 1 : n);
    return;
  }
  ensure_workers(n);
  if (n > n_workers + 1) n = n_workers + 1;
  job_fn = fn; job_ctx = ctx;
  atomic_store_explicit(&pending, n - 1, memory_order_release);
  pthread_mutex_lock(&mu);
  long long g = atomic_load_explicit(&gen, memory_order_relaxed);
  atomic_store_explicit(&gen, ((g >> 8) + 1) << 8 | n, memory_order_release);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  in_task = 1;
  fn(ctx, 0, n);
  in_task = 0;
  while (atomic_load_explicit(&pending, memory_order_acquire) > 0) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  pthread_mutex_unlock(&call_mu);
}
