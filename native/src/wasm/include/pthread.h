// The pthread subset nabla's C uses (core/threadpool.c, napi/register.c, the Winograd cache lock), for
// the WebAssembly build, in wasm/threads.c: mutexes spin on an atomic word, condition variables wait
// with memory.atomic.wait32 (worker threads only: the pool's caller, which may be a browser's main
// thread, never waits), and pthread_create asks the JS loader for a Web Worker or worker_threads
// Worker that runs the start routine on its own instance of the module over the same shared memory.
// In the single-threaded build (no shared memory) pthread_create fails, and the pool runs every task
// on the caller.
#ifndef NB_WASM_PTHREAD_H
#define NB_WASM_PTHREAD_H
#include <stdint.h>

typedef struct {
  volatile int32_t locked;
} pthread_mutex_t;
typedef struct {
  volatile int32_t seq;
} pthread_cond_t;
typedef volatile int32_t pthread_once_t;
typedef uint32_t pthread_t;
typedef struct {
  int detached;
} pthread_attr_t;

#define PTHREAD_MUTEX_INITIALIZER                                                                                      \
  { 0 }
#define PTHREAD_COND_INITIALIZER                                                                                       \
  { 0 }
#define PTHREAD_ONCE_INIT       0
#define PTHREAD_CREATE_DETACHED 1

int pthread_mutex_lock(pthread_mutex_t *m);
int pthread_mutex_trylock(pthread_mutex_t *m);
int pthread_mutex_unlock(pthread_mutex_t *m);
int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int pthread_cond_broadcast(pthread_cond_t *c);
int pthread_once(pthread_once_t *once, void (*fn)(void));
int pthread_attr_init(pthread_attr_t *a);
int pthread_attr_destroy(pthread_attr_t *a);
int pthread_attr_setdetachstate(pthread_attr_t *a, int s);
int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
#endif
