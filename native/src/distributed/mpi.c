// nb.distributed's MPI glue: a separate addon (nabla_mpi.node), built only when mpicc is found at build
// time, so the main addon never depends on libmpi. Exactly one thread ever calls MPI (MPI_Init_thread,
// every collective and point-to-point call, MPI_Finalize), so MPI_THREAD_FUNNELED is all this needs (it
// checks that much is provided). Which thread is chosen once, at init:
// - thread mode: a communication thread owns MPI. The JS thread only queues operations and either blocks
//   on one (wait) or gets a callback when it completes (a thread-safe function), so async handles are
//   real: DistributedDataParallel's bucket all-reduces run there while the JS thread keeps computing.
//   The default.
// - inline mode: no communication thread; the JS thread calls MPI. An async operation starts as a
//   nonblocking MPI call when it is issued, later polls (DDP polls from its gradient hooks) advance it,
//   and wait finishes it; an operation waited at once runs in the blocking call, with no hand-over
//   between threads. See docs/distributed.md for what each measured.
//
// Operations run one at a time in the order they were queued (the order torch's MPI backend keeps), so
// every rank issues its collectives in the same order. Before each collective the ranks all-gather a small
// header (the operation, dtype, reduce op, root, shape, sequence number) and refuse, on every rank alike,
// when any rank disagrees: a shape mismatch becomes an error naming the ranks and shapes instead of
// corrupt data or a hang. A watchdog thread ends the process with a clear message when one operation
// runs past the timeout (a peer that died or called something else); mpirun then stops the other ranks.
//
// Glossary: W world size, N elements of the local buffer; header = NB_HDR int64s.
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { K_ALLREDUCE, K_BROADCAST, K_ALLGATHER, K_REDUCE_SCATTER, K_BARRIER, K_SEND, K_RECV, K_FINALIZE };
enum { R_SUM, R_AVG, R_MAX, R_MIN, R_PRODUCT };
enum { D_F32, D_F64, D_I32, D_U8 };
#define NB_HDR    16
#define NB_MAXDIM 8
#define NB_ERR    1024
static const char *KIND_NAME[] = {"allReduce", "broadcast", "allGather", "reduceScatter",
                                  "barrier",   "send",      "recv",      "destroyProcessGroup"};
static const char *ROP_NAME[] = {"sum", "avg", "max", "min", "product"};
static const char *DT_NAME[] = {"float32", "float64", "int32", "bool"};

/* One queued operation. buf is the tensor's memory (in place for allReduce/broadcast/recv, the input of
 * send/allGather/reduceScatter); out is the output of allGather (W*N) and reduceScatter (N/W). The
 * TypedArrays stay referenced until the completion callback runs on the JS thread. */
typedef struct nb_op {
  int64_t id;
  int kind, dtype, rop, peer, tag;
  void *buf, *out;
  int64_t count, out_count;
  int64_t hdr[NB_HDR]; /* kind, dtype, rop, root/peer, ndim, shape[8], numel, seq, 0 */
  napi_ref buf_ref, out_ref;
  int done, src;
  char err[NB_ERR];
  /* inline mode: whether it runs in nonblocking MPI calls (issued async: every rank makes the same
   * choice, since nonblocking and blocking collectives do not match); its phase (0 not started, 1 header
   * exchange, 2 data, 3 recv's header) and requests in flight */
  int nonblocking, phase, nreq;
  MPI_Request req[2];
  int64_t *hdrs;        /* W headers (phase 1) */
  int64_t rhdr[NB_HDR]; /* the sender's header (recv) */
  struct nb_op *next;
} nb_op;

static struct {
  pthread_t thread, watchdog;
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_done;
  nb_op *queue_head, *queue_tail; /* not yet started (thread mode), not yet done (inline mode) */
  nb_op *done_head, *done_tail;   /* inline mode: done, not yet handed to JS */
  nb_op *running;
  double running_since;
  int started, inited, finalized, stopping, rank, size, provided;
  int inline_mode;  /* no communication thread: the JS thread makes every MPI call (see mpi_init) */
  napi_ref on_done; /* inline mode: the completion callback, called directly on the JS thread */
  double timeout_s;
  int64_t next_id, seq;
  char init_err[NB_ERR];
  napi_threadsafe_function tsfn;
  MPI_Comm p2p;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv_work = PTHREAD_COND_INITIALIZER, .cv_done = PTHREAD_COND_INITIALIZER};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static MPI_Datatype mpi_type(int d) {
  return d == D_F32 ? MPI_FLOAT : d == D_F64 ? MPI_DOUBLE : d == D_I32 ? MPI_INT32_T : MPI_UINT8_T;
}
static size_t esize(int d) { return d == D_F32 ? 4 : d == D_F64 ? 8 : d == D_I32 ? 4 : 1; }
static MPI_Op mpi_op(int r) {
  return r == R_MAX ? MPI_MAX : r == R_MIN ? MPI_MIN : r == R_PRODUCT ? MPI_PROD : MPI_SUM;
}

/* x[i] /= W for avg (MPI has no mean). x (n) */
static void scale_avg(void *x, int64_t n, int d, int w) {
  if (d == D_F32) {
    float *p = x;
    for (int64_t i = 0; i < n; i++) p[i] /= (float)w;
  } else if (d == D_F64) {
    double *p = x;
    for (int64_t i = 0; i < n; i++) p[i] /= (double)w;
  }
}

/* "[4, 3] float32" */
static int shape_of(char *s, size_t cap, const int64_t *h) {
  int n = snprintf(s, cap, "[");
  for (int64_t i = 0; i < h[4] && i < NB_MAXDIM; i++)
    n += snprintf(s + n, cap - n, "%s%lld", i ? ", " : "", (long long)h[5 + i]);
  return n + snprintf(s + n, cap - n, "%s] %s", h[4] > NB_MAXDIM ? ", ..." : "", DT_NAME[h[1] & 3]);
}

/* "allReduce(sum) [4, 3] float32 (call #7)" */
static void describe(char *s, size_t cap, const int64_t *h) {
  int n = snprintf(s, cap, "%s", KIND_NAME[h[0] >= 0 && h[0] <= K_FINALIZE ? h[0] : 0]);
  if (h[0] == K_ALLREDUCE || h[0] == K_REDUCE_SCATTER) n += snprintf(s + n, cap - n, "(%s)", ROP_NAME[h[2]]);
  if (h[0] == K_BROADCAST) n += snprintf(s + n, cap - n, "(src=%lld)", (long long)h[3]);
  if (h[0] != K_BARRIER) n += snprintf(s + n, cap - n, " "), n += shape_of(s + n, cap - n, h);
  if (h[0] <= K_BARRIER) snprintf(s + n, cap - n, " (call #%lld)", (long long)h[14]);
}

/* Whether all W headers (every rank's, gathered) agree; when not, o->err names the ranks that differ. */
static int headers_disagree(nb_op *o, const int64_t *all) {
  int bad = 0;
  for (int r = 1; r < G.size && !bad; r++) bad = memcmp(all, all + (size_t)r * NB_HDR, sizeof(int64_t) * NB_HDR) != 0;
  if (bad) {
    int n = snprintf(o->err, NB_ERR, "the ranks disagree before the call (nothing was sent):");
    int shown = 0;
    for (int r = 0; r < G.size && n < NB_ERR - 1; r++) {
      const int64_t *h = all + (size_t)r * NB_HDR;
      if (r > 0 && !memcmp(all, h, sizeof(int64_t) * NB_HDR)) continue;
      if (++shown > 8) {
        snprintf(o->err + n, NB_ERR - n, " ...");
        break;
      }
      char d[256];
      describe(d, sizeof d, h);
      n += snprintf(o->err + n, NB_ERR - n, "%s rank %d: %s", r ? ";" : "", r, d);
    }
  }
  return bad;
}

static int64_t *header_space(nb_op *o) {
  int64_t *all = malloc(sizeof(int64_t) * NB_HDR * (size_t)G.size);
  if (!all) snprintf(o->err, NB_ERR, "out of memory for the headers of %d ranks", G.size);
  return all;
}

/* Every rank sends its header to every other; all ranks then agree whether to go on. Returns 0 to go on. */
static int check_headers(nb_op *o) {
  int64_t *all = header_space(o);
  if (!all) return -1;
  MPI_Allgather(o->hdr, NB_HDR, MPI_INT64_T, all, NB_HDR, MPI_INT64_T, MPI_COMM_WORLD);
  int bad = headers_disagree(o, all);
  free(all);
  return bad ? -1 : 0;
}

static void mpi_err(nb_op *o, int rc) {
  if (rc == MPI_SUCCESS) return;
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, s, &len);
  snprintf(o->err, NB_ERR, "MPI error: %s", s);
}

/* Whether the sender's header h (from rank o->src) matches what recv expects; when not, the message is
 * taken anyway (the sender must not block on it), dropped, and o->err says why. */
static int recv_matches(nb_op *o, const int64_t *h) {
  int same = h[1] == o->hdr[1] && h[4] == o->hdr[4] && h[13] == o->hdr[13];
  for (int i = 0; same && i < NB_MAXDIM; i++) same = h[5 + i] == o->hdr[5 + i];
  if (same) return 1;
  int cnt = 0;
  MPI_Status st;
  MPI_Probe(o->src, o->tag, G.p2p, &st);
  MPI_Get_count(&st, MPI_BYTE, &cnt);
  void *scratch = malloc(cnt > 0 ? (size_t)cnt : 1);
  MPI_Recv(scratch, cnt, MPI_BYTE, o->src, o->tag, G.p2p, MPI_STATUS_IGNORE);
  free(scratch);
  char want[256], got[256];
  shape_of(want, sizeof want, o->hdr);
  shape_of(got, sizeof got, h);
  snprintf(o->err, NB_ERR, "rank %d sent %s but rank %d receives into %s (tag %d); the message was dropped", o->src,
           got, G.rank, want, o->tag);
  return 0;
}

/* The data movement of o as a blocking MPI call (its headers agreed). */
static void run_data(nb_op *o) {
  MPI_Datatype dt = mpi_type(o->dtype);
  int c = (int)o->count, rc = MPI_SUCCESS;
  switch (o->kind) {
  case K_ALLREDUCE:
    rc = MPI_Allreduce(MPI_IN_PLACE, o->buf, c, dt, mpi_op(o->rop), MPI_COMM_WORLD);
    if (o->rop == R_AVG) scale_avg(o->buf, o->count, o->dtype, G.size);
    break;
  case K_BROADCAST:
    rc = MPI_Bcast(o->buf, c, dt, o->peer, MPI_COMM_WORLD);
    break;
  case K_ALLGATHER:
    rc = MPI_Allgather(o->buf, c, dt, o->out, c, dt, MPI_COMM_WORLD);
    break;
  case K_REDUCE_SCATTER:
    rc = MPI_Reduce_scatter_block(o->buf, o->out, (int)o->out_count, dt, mpi_op(o->rop), MPI_COMM_WORLD);
    if (o->rop == R_AVG) scale_avg(o->out, o->out_count, o->dtype, G.size);
    break;
  case K_BARRIER:
    rc = MPI_Barrier(MPI_COMM_WORLD);
    break;
  case K_SEND:
    rc = MPI_Send(o->hdr, NB_HDR, MPI_INT64_T, o->peer, o->tag, G.p2p);
    if (rc == MPI_SUCCESS) rc = MPI_Send(o->buf, c, dt, o->peer, o->tag, G.p2p);
    break;
  case K_RECV: {
    int64_t h[NB_HDR];
    MPI_Status st;
    rc = MPI_Recv(h, NB_HDR, MPI_INT64_T, o->peer < 0 ? MPI_ANY_SOURCE : o->peer, o->tag, G.p2p, &st);
    if (rc != MPI_SUCCESS) break;
    o->src = st.MPI_SOURCE;
    if (!recv_matches(o, h)) return;
    rc = MPI_Recv(o->buf, c, dt, o->src, o->tag, G.p2p, MPI_STATUS_IGNORE);
    break;
  }
  case K_FINALIZE:
    MPI_Comm_free(&G.p2p);
    rc = MPI_Finalize();
    break;
  }
  mpi_err(o, rc);
}

/* o from start to end in blocking MPI calls. */
static void run_op(nb_op *o) {
  if (o->kind <= K_BARRIER && check_headers(o)) return;
  run_data(o);
}

/* MPI_Init_thread on the calling thread, which thereby becomes the one thread that calls MPI (FUNNELED). */
static void mpi_init(void) {
  /* NOTE: Node loads addons RTLD_LOCAL; Open MPI's plugins (mca_*.so) resolve libmpi's symbols globally,
   * so libmpi is promoted to RTLD_GLOBAL before MPI_Init (mpi4py does the same). */
  Dl_info info;
  if (dladdr((void *)MPI_Init_thread, &info) && info.dli_fname) dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL);
  int provided = 0, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  pthread_mutex_lock(&G.mu);
  if (rc != MPI_SUCCESS)
    snprintf(G.init_err, NB_ERR, "MPI_Init_thread failed (error %d)", rc);
  else if (provided < MPI_THREAD_FUNNELED)
    snprintf(G.init_err, NB_ERR, "MPI provides thread level %d; nabla needs MPI_THREAD_FUNNELED", provided);
  else {
    MPI_Comm_rank(MPI_COMM_WORLD, &G.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &G.size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_dup(MPI_COMM_WORLD, &G.p2p);
  }
  G.provided = provided;
  G.inited = 1;
  pthread_cond_broadcast(&G.cv_done);
  pthread_mutex_unlock(&G.mu);
}

/* Thread mode: the communication thread runs the queued operations one at a time, blocking in MPI. */
static void *comm_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "nabla-mpi");
  mpi_init();
  if (G.init_err[0]) return NULL;
  pthread_mutex_lock(&G.mu);
  for (;;) {
    while (!G.queue_head) pthread_cond_wait(&G.cv_work, &G.mu);
    nb_op *o = G.queue_head;
    G.queue_head = o->next;
    if (!G.queue_head) G.queue_tail = NULL;
    G.running = o;
    G.running_since = now_s();
    pthread_mutex_unlock(&G.mu);
    run_op(o);
    pthread_mutex_lock(&G.mu);
    G.running = NULL;
    o->done = 1;
    int fin = o->kind == K_FINALIZE;
    if (fin) G.finalized = 1;
    pthread_cond_broadcast(&G.cv_done);
    if (G.tsfn) napi_call_threadsafe_function(G.tsfn, o, napi_tsfn_nonblocking);
    if (fin) break;
  }
  pthread_mutex_unlock(&G.mu);
  return NULL;
}

/* ---- Inline mode: no communication thread. The JS thread makes every MPI call. An operation issued
 * async (start()) runs in nonblocking MPI calls (header exchange first, then the data): start() and poll()
 * post and advance them (MPI_Test), wait() finishes them. One issued to be waited at once (a blocking
 * collective) runs in the blocking calls when wait() reaches it. Here the queue holds every operation not
 * yet done, the head being the one in flight; they start strictly in queue order, so all ranks issue the
 * same MPI calls in the same order. */

/* Posts the data movement of o (the nonblocking form of run_op's call). */
static void post_data(nb_op *o) {
  MPI_Datatype dt = mpi_type(o->dtype);
  int c = (int)o->count, rc = MPI_SUCCESS;
  o->phase = 2, o->nreq = 1;
  switch (o->kind) {
  case K_ALLREDUCE:
    rc = MPI_Iallreduce(MPI_IN_PLACE, o->buf, c, dt, mpi_op(o->rop), MPI_COMM_WORLD, &o->req[0]);
    break;
  case K_BROADCAST:
    rc = MPI_Ibcast(o->buf, c, dt, o->peer, MPI_COMM_WORLD, &o->req[0]);
    break;
  case K_ALLGATHER:
    rc = MPI_Iallgather(o->buf, c, dt, o->out, c, dt, MPI_COMM_WORLD, &o->req[0]);
    break;
  case K_REDUCE_SCATTER:
    rc = MPI_Ireduce_scatter_block(o->buf, o->out, (int)o->out_count, dt, mpi_op(o->rop), MPI_COMM_WORLD, &o->req[0]);
    break;
  case K_BARRIER:
    rc = MPI_Ibarrier(MPI_COMM_WORLD, &o->req[0]);
    break;
  case K_SEND:
    rc = MPI_Isend(o->hdr, NB_HDR, MPI_INT64_T, o->peer, o->tag, G.p2p, &o->req[0]);
    if (rc == MPI_SUCCESS) rc = MPI_Isend(o->buf, c, dt, o->peer, o->tag, G.p2p, &o->req[1]), o->nreq = 2;
    break;
  case K_RECV:
    o->phase = 3;
    rc = MPI_Irecv(o->rhdr, NB_HDR, MPI_INT64_T, o->peer < 0 ? MPI_ANY_SOURCE : o->peer, o->tag, G.p2p, &o->req[0]);
    break;
  }
  mpi_err(o, rc);
}

/* Advances o (nonblocking) by one step without blocking; returns 1 once it is done (o->err set on failure). */
static int step_op(nb_op *o) {
  if (o->phase == 0) {
    if (o->kind <= K_BARRIER) {
      if (!(o->hdrs = header_space(o))) return 1;
      o->phase = 1, o->nreq = 1;
      mpi_err(o, MPI_Iallgather(o->hdr, NB_HDR, MPI_INT64_T, o->hdrs, NB_HDR, MPI_INT64_T, MPI_COMM_WORLD, &o->req[0]));
    } else
      post_data(o);
    return o->err[0] != 0;
  }
  int flag = 0;
  MPI_Status st[2];
  int rc = MPI_Testall(o->nreq, o->req, &flag, st);
  if (rc != MPI_SUCCESS) return mpi_err(o, rc), 1;
  if (!flag) return 0;
  if (o->phase == 1) {
    int bad = headers_disagree(o, o->hdrs);
    free(o->hdrs), o->hdrs = NULL;
    if (bad) return 1;
    post_data(o);
    return o->err[0] != 0;
  }
  if (o->phase == 3) {
    o->src = st[0].MPI_SOURCE;
    if (!recv_matches(o, o->rhdr)) return 1;
    o->phase = 2, o->nreq = 1;
    mpi_err(o, MPI_Irecv(o->buf, (int)o->count, mpi_type(o->dtype), o->src, o->tag, G.p2p, &o->req[0]));
    return o->err[0] != 0;
  }
  if (o->rop == R_AVG && o->kind == K_ALLREDUCE) scale_avg(o->buf, o->count, o->dtype, G.size);
  if (o->rop == R_AVG && o->kind == K_REDUCE_SCATTER) scale_avg(o->out, o->out_count, o->dtype, G.size);
  return 1;
}

static void finish_head(void) {
  pthread_mutex_lock(&G.mu);
  nb_op *o = G.queue_head;
  G.queue_head = o->next;
  if (!G.queue_head) G.queue_tail = NULL;
  o->done = 1;
  if (o->kind == K_FINALIZE) G.finalized = 1;
  o->next = NULL;
  if (G.done_tail)
    G.done_tail->next = o;
  else
    G.done_head = o;
  G.done_tail = o;
  pthread_mutex_unlock(&G.mu);
}

/* Starts and advances queued nonblocking operations: each in flight gets one MPI_Test. It stops at a
 * blocking one, which its wait() runs. */
static void poll_inline(void) {
  while (G.queue_head && G.queue_head->nonblocking && step_op(G.queue_head)) finish_head();
}

/* Blocks until o is done, running each operation ahead of it to completion; the watchdog watches it.
 * A nonblocking operation is polled in a loop, as MPI_Wait would (Open MPI yields the core between
 * polls under mpi_yield_when_idle, which nabla launch sets). NOTE: sleeping 20 us between polls while
 * the headers were exchanged was tried and measured slower (bench:ddp MLP 26-29% against 33-43% with a
 * communication thread, on a loaded 2-core machine): each round of an all-reduce needs both ranks to
 * poll, and a sleeping rank wakes late. */
static void wait_inline(nb_op *o) {
  pthread_mutex_lock(&G.mu);
  G.running = o;
  G.running_since = now_s();
  pthread_mutex_unlock(&G.mu);
  while (!o->done) {
    nb_op *h = G.queue_head;
    if (!h->nonblocking)
      run_op(h);
    else
      while (!step_op(h)) {}
    finish_head();
  }
  pthread_mutex_lock(&G.mu);
  G.running = NULL;
  pthread_mutex_unlock(&G.mu);
}

/* Ends the process when one operation outlives the timeout: a blocking MPI call cannot be cancelled,
 * and the job must not hang. mpirun sees the exit and stops the other ranks. */
static void *watchdog_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "nabla-mpi-watch");
  for (;;) {
    usleep(100 * 1000);
    pthread_mutex_lock(&G.mu);
    if (G.finalized || G.stopping) break;
    nb_op *o = G.running;
    if (o && G.timeout_s > 0 && now_s() - G.running_since > G.timeout_s) {
      char d[256];
      describe(d, sizeof d, o->hdr);
      fprintf(stderr,
              "nabla.distributed: rank %d of %d: %s has not completed after %.1f s; a peer rank has probably failed, "
              "exited or called a different operation. Ending this process so the job does not hang (timeout: "
              "initProcessGroup({timeout}) or NABLA_DIST_TIMEOUT_MS).\n",
              G.rank, G.size, d, G.timeout_s);
      fflush(stderr);
      _exit(3);
    }
    pthread_mutex_unlock(&G.mu);
  }
  pthread_mutex_unlock(&G.mu);
  return NULL;
}

/* ---- N-API ---- */

static napi_value throw_err(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* Every op not yet delivered to JS, queued or done: wait(id) looks here (an op sits in both lists). */
typedef struct live_node {
  nb_op *op;
  struct live_node *next;
} live_node;
static live_node *LIVE;

static nb_op *lookup(int64_t id) {
  for (live_node *l = LIVE; l; l = l->next)
    if (l->op->id == id) return l->op;
  return NULL;
}

static void unlink_live(nb_op *o) {
  for (live_node **p = &LIVE; *p; p = &(*p)->next)
    if ((*p)->op == o) {
      live_node *dead = *p;
      *p = dead->next;
      free(dead);
      return;
    }
}

/* On the JS thread: hand the result to JS (id, error | null, source rank) and drop the buffers. */
static void call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  nb_op *o = data;
  if (env && cb) {
    napi_value argv[3], undef;
    napi_get_undefined(env, &undef);
    napi_create_int64(env, o->id, &argv[0]);
    if (o->err[0])
      napi_create_string_utf8(env, o->err, NAPI_AUTO_LENGTH, &argv[1]);
    else
      napi_get_null(env, &argv[1]);
    napi_create_int32(env, o->src, &argv[2]);
    napi_call_function(env, undef, cb, 3, argv, NULL);
  }
  if (env && o->buf_ref) napi_delete_reference(env, o->buf_ref);
  if (env && o->out_ref) napi_delete_reference(env, o->out_ref);
  pthread_mutex_lock(&G.mu);
  unlink_live(o);
  pthread_mutex_unlock(&G.mu);
  free(o);
}

static int get_i64(napi_env env, napi_value v, int64_t *out) { return napi_get_value_int64(env, v, out) == napi_ok; }

static napi_value started(napi_env env);

/* Inline mode: hands every finished operation to JS (onDone), in the order they finished. */
static void deliver_inline(napi_env env) {
  napi_value cb;
  if (!G.on_done || napi_get_reference_value(env, G.on_done, &cb) != napi_ok) return;
  for (;;) {
    pthread_mutex_lock(&G.mu);
    nb_op *o = G.done_head;
    if (o) G.done_head = o->next;
    if (!G.done_head) G.done_tail = NULL;
    pthread_mutex_unlock(&G.mu);
    if (!o) return;
    call_js(env, cb, NULL, o);
  }
}

/* init(timeoutSeconds, onDone, inline) -> [rank, size, providedThreadLevel]. inline: no communication
 * thread, MPI is initialised and called on this (the JS) thread. */
static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (G.started) return throw_err(env, "MPI is already initialised in this process (MPI allows it once)");
  double timeout = 0;
  napi_get_value_double(env, argv[0], &timeout);
  G.timeout_s = timeout;
  bool inl = false;
  napi_get_value_bool(env, argv[2], &inl);
  if (inl) {
    G.inline_mode = 1;
    G.started = 1;
    napi_create_reference(env, argv[1], 1, &G.on_done);
    mpi_init();
    return started(env);
  }
  napi_value name;
  napi_create_string_utf8(env, "nabla.distributed", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &G.tsfn) != napi_ok)
    return throw_err(env, "nabla.distributed: could not create the completion callback");
  napi_unref_threadsafe_function(env, G.tsfn);
  G.started = 1;
  pthread_create(&G.thread, NULL, comm_main, NULL);
  pthread_mutex_lock(&G.mu);
  while (!G.inited) pthread_cond_wait(&G.cv_done, &G.mu);
  pthread_mutex_unlock(&G.mu);
  return started(env);
}

/* After MPI_Init: the error, or the watchdog started and [rank, size, providedThreadLevel]. */
static napi_value started(napi_env env) {
  if (G.init_err[0]) return throw_err(env, G.init_err);
  pthread_create(&G.watchdog, NULL, watchdog_main, NULL);
  napi_value arr, v;
  napi_create_array_with_length(env, 3, &arr);
  int vals[3] = {G.rank, G.size, G.provided};
  for (int i = 0; i < 3; i++) {
    napi_create_int32(env, vals[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

static int take_array(napi_env env, napi_value v, void **data, int64_t *len, napi_ref *ref) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) return 1;
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return 0;
  napi_typedarray_type ty;
  size_t n;
  napi_get_typedarray_info(env, v, &ty, &n, data, NULL, NULL);
  *len = (int64_t)n;
  napi_create_reference(env, v, 1, ref);
  return 1;
}

/* submit(kind, dtype, rop, peer, tag, header: Float64Array(16), buf, out) -> id. The JS side has checked
 * the arguments (sizes, dtypes, ranks); the header's shape travels to the peers for their checks. */
static napi_value js_submit(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!G.started || G.finalized || G.init_err[0]) return throw_err(env, "nabla.distributed: no process group");
  nb_op *o = calloc(1, sizeof *o);
  int64_t v[5];
  for (int i = 0; i < 5; i++)
    if (!get_i64(env, argv[i], &v[i])) {
      free(o);
      return throw_err(env, "nabla.distributed.submit: bad integer argument");
    }
  o->kind = (int)v[0], o->dtype = (int)v[1], o->rop = (int)v[2], o->peer = (int)v[3], o->tag = (int)v[4];
  double *h = NULL;
  size_t hn = 0;
  napi_typedarray_type ty;
  napi_get_typedarray_info(env, argv[5], &ty, &hn, (void **)&h, NULL, NULL);
  for (size_t i = 0; i < NB_HDR && i < hn; i++) o->hdr[i] = (int64_t)h[i];
  o->hdr[0] = o->kind, o->hdr[1] = o->dtype, o->hdr[2] = o->rop, o->hdr[3] = o->peer;
  if (o->kind <= K_BARRIER) o->hdr[14] = ++G.seq;
  if (!take_array(env, argv[6], &o->buf, &o->count, &o->buf_ref) ||
      !take_array(env, argv[7], &o->out, &o->out_count, &o->out_ref)) {
    free(o);
    return throw_err(env, "nabla.distributed.submit: buffers must be TypedArrays");
  }
  if (o->kind == K_BARRIER) o->count = 0;
  o->id = ++G.next_id;
  live_node *l = malloc(sizeof *l);
  pthread_mutex_lock(&G.mu);
  l->op = o;
  l->next = LIVE;
  LIVE = l;
  if (G.queue_tail)
    G.queue_tail->next = o;
  else
    G.queue_head = o;
  G.queue_tail = o;
  if (o->kind == K_FINALIZE) G.stopping = 1;
  pthread_cond_signal(&G.cv_work);
  pthread_mutex_unlock(&G.mu);
  napi_value id;
  napi_create_int64(env, o->id, &id);
  return id;
}

/* wait(id) -> [null | error string, source rank]: blocks the JS thread until the op is done. */
static napi_value js_wait(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], res;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t id = 0;
  get_i64(env, argv[0], &id);
  pthread_mutex_lock(&G.mu);
  nb_op *o = lookup(id);
  if (o && !o->done && G.inline_mode) {
    pthread_mutex_unlock(&G.mu);
    wait_inline(o);
    pthread_mutex_lock(&G.mu);
  }
  while (o && !o->done) pthread_cond_wait(&G.cv_done, &G.mu);
  char err[NB_ERR] = "";
  int src = -1;
  if (o) memcpy(err, o->err, NB_ERR), src = o->src;
  pthread_mutex_unlock(&G.mu);
  if (G.inline_mode) deliver_inline(env);
  napi_value e, r;
  if (err[0])
    napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &e);
  else
    napi_get_null(env, &e);
  napi_create_int32(env, src, &r);
  napi_create_array_with_length(env, 2, &res);
  napi_set_element(env, res, 0, e);
  napi_set_element(env, res, 1, r);
  return res;
}

/* ref(on): keep the event loop alive while JS awaits an operation. */
static napi_value js_ref(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_bool(env, argv[0], &on);
  if (G.tsfn) (on ? napi_ref_threadsafe_function : napi_unref_threadsafe_function)(env, G.tsfn);
  return NULL;
}

/* poll(id?): inline mode: marks operation id (when given) nonblocking (it was issued async), starts
 * queued nonblocking operations and advances those in flight without blocking, and hands the finished
 * ones to JS. Nothing in thread mode. */
static napi_value js_poll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!G.inline_mode || !G.started || G.finalized || G.init_err[0]) return NULL;
  int64_t id = 0;
  if (argc >= 1 && get_i64(env, argv[0], &id)) {
    pthread_mutex_lock(&G.mu);
    nb_op *o = lookup(id);
    if (o && !o->done && o->kind != K_FINALIZE) o->nonblocking = 1;
    pthread_mutex_unlock(&G.mu);
  }
  poll_inline();
  deliver_inline(env);
  return NULL;
}

/* join(): after the finalize op completed, stop the threads. */
static napi_value js_join(napi_env env, napi_callback_info info) {
  (void)info;
  if (G.started && G.finalized) {
    if (!G.inline_mode) pthread_join(G.thread, NULL);
    pthread_join(G.watchdog, NULL);
    if (G.on_done) napi_delete_reference(env, G.on_done);
    G.on_done = NULL;
    if (G.tsfn) napi_release_threadsafe_function(G.tsfn, napi_tsfn_release);
    G.tsfn = NULL;
  }
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  char *nl = strchr(v, ',');
  if (nl) *nl = 0;
  napi_value s;
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"init", 0, js_init, 0, 0, 0, napi_default, 0}, {"submit", 0, js_submit, 0, 0, 0, napi_default, 0},
      {"wait", 0, js_wait, 0, 0, 0, napi_default, 0}, {"ref", 0, js_ref, 0, 0, 0, napi_default, 0},
      {"join", 0, js_join, 0, 0, 0, napi_default, 0}, {"version", 0, js_version, 0, 0, 0, napi_default, 0},
      {"poll", 0, js_poll, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
