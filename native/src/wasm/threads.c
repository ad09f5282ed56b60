// include/pthread.h over wasm atomics, and the thread entry the JS loader's workers call. A worker is
// a Web Worker or a worker_threads Worker with its own instance of the module over the shared memory:
// pthread_create gives it a stack and a thread-local block from malloc and asks JS to start it
// (nbw_spawn); the worker points its stack at the block, initialises its TLS, and runs the start
// routine (nbw_thread_start). Built without atomics (the single-threaded module) nbw_spawn fails
// and nothing here ever waits.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include "nabla.h"
#include "nbw.h"

#define STACK_BYTES (1 << 20)

/* Starts a worker that calls nbw_thread_start(fn, arg, tls) with its stack pointer at stack_top;
 * returns 0 on success. */
NBW_IMPORT(nbw_spawn) int nbw_spawn(uint32_t fn, uint32_t arg, uint32_t stack_top, uint32_t tls);

#if defined(__wasm_atomics__)
extern void __wasm_init_tls(void *block);

/* performance.timeOrigin + performance.now(): one clock in the page and every worker (threadpool.c
 * times when workers join a job with it). */
NBW_IMPORT(nbw_now) double nbw_now(void);
double nb_clock_ms(void) { return nbw_now(); }
#endif

static int hw_threads = 1;

#if defined(__wasm_atomics__)
#define WAIT(addr, v)  __builtin_wasm_memory_atomic_wait32((int32_t *)(addr), (v), -1)
#define WAKE_ALL(addr) __builtin_wasm_memory_atomic_notify((int32_t *)(addr), 0xffffffffu)
#else
#define WAIT(addr, v)  ((void)(addr), (void)(v))
#define WAKE_ALL(addr) ((void)(addr))
#endif

int pthread_mutex_trylock(pthread_mutex_t *m) {
  return __atomic_exchange_n(&m->locked, 1, __ATOMIC_ACQUIRE) ? 16 /* EBUSY */ : 0;
}

int pthread_mutex_lock(pthread_mutex_t *m) {
  /* NOTE: spins rather than waits: the locks guard a few stores, and a browser's main thread may not wait */
  while (__atomic_exchange_n(&m->locked, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&m->locked, __ATOMIC_RELAXED)) {}
  return 0;
}

int pthread_mutex_unlock(pthread_mutex_t *m) {
  __atomic_store_n(&m->locked, 0, __ATOMIC_RELEASE);
  return 0;
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
  int32_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(m);
  WAIT(&c->seq, seq);
  pthread_mutex_lock(m);
  return 0;
}

int pthread_cond_broadcast(pthread_cond_t *c) {
  __atomic_fetch_add(&c->seq, 1, __ATOMIC_SEQ_CST);
  WAKE_ALL(&c->seq);
  return 0;
}

int pthread_once(pthread_once_t *once, void (*fn)(void)) {
  /* 0: not run, 1: running, 2: done */
  int32_t want = 0;
  if (__atomic_compare_exchange_n(once, &want, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    fn();
    __atomic_store_n(once, 2, __ATOMIC_RELEASE);
  } else
    while (__atomic_load_n(once, __ATOMIC_ACQUIRE) != 2) {}
  return 0;
}

int pthread_attr_init(pthread_attr_t *a) {
  a->detached = 0;
  return 0;
}
int pthread_attr_destroy(pthread_attr_t *a) {
  (void)a;
  return 0;
}
int pthread_attr_setdetachstate(pthread_attr_t *a, int s) {
  a->detached = s;
  return 0;
}

#if defined(__wasm_atomics__)
int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
  (void)a;
  static uint32_t next_id = 1;
  size_t align = __builtin_wasm_tls_align(), tls = (__builtin_wasm_tls_size() + align - 1) & ~(align - 1);
  char *block = aligned_alloc(align > 16 ? align : 16, STACK_BYTES + tls);
  if (!block) return 11; /* EAGAIN */
  /* the stack grows down from the block's end; the TLS block sits below it */
  if (nbw_spawn((uint32_t)(uintptr_t)fn, (uint32_t)(uintptr_t)arg, (uint32_t)(uintptr_t)(block + STACK_BYTES + tls),
                (uint32_t)(uintptr_t)block) != 0) {
    free(block);
    return 11;
  }
  *t = next_id++;
  return 0;
}

/* A worker's first call: its TLS block, then the start routine, which never returns for the pool. */
NBW_EXPORT(nbw_thread_start) void nbw_thread_start(uint32_t fn, uint32_t arg, uint32_t tls) {
  __wasm_init_tls((void *)(uintptr_t)tls);
  ((void *(*)(void *))(uintptr_t)fn)((void *)(uintptr_t)arg);
}

#else
int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
  (void)t;
  (void)a;
  (void)fn;
  (void)arg;
  return 11; /* EAGAIN: no shared memory, no workers */
}
#endif

/* The calling instance's (the JS thread's) TLS block, once, before anything else runs. */
NBW_EXPORT(nbw_main_init) int nbw_main_init(int hardware_threads) {
  static int done;
  hw_threads = hardware_threads > 0 ? hardware_threads : 1;
  if (done) return 0;
#if defined(__wasm_atomics__)
  size_t align = __builtin_wasm_tls_align(), size = __builtin_wasm_tls_size();
  if (size) {
    void *block = aligned_alloc(align > 16 ? align : 16, (size + align - 1) & ~(align - 1));
    if (!block) return -1;
    __wasm_init_tls(block);
  }
#endif
  done = 1;
  return 0;
}

/* threadpool.c's default thread count when NABLA_NUM_THREADS is unset: what JS reported. */
long sysconf(int name) {
  (void)name;
  return hw_threads;
}

static void noop_task(void *ctx, int tid, int n) {
  (void)ctx;
  (void)tid;
  (void)n;
}

/* Starts the pool's workers now (the JS loader's async init) rather than at the first parallel kernel. */
NBW_EXPORT(nbw_start_pool) void nbw_start_pool(void) { nb_parallel(noop_task, NULL, nb_num_threads()); }
