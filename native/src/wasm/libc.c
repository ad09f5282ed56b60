// The C library pieces the WebAssembly build supplies itself; the rest (string functions, libm) comes
// from Debian's wasi-libc. Its malloc and stdio were compiled without atomics, so wasm-ld refuses them
// in a shared-memory module (and they take no locks): allocation here is thread-safe, and formatting
// covers what the kernels' error messages use.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "nbw.h"

int errno; /* libm's error reports (never read: the kernels build with -fno-math-errno) */

/* ---- malloc: size classes (4 per power of two) with free lists; memory from memory.grow ---- */

#define HDR    64 /* every block starts 64-aligned; the pointer handed out follows a 64-byte header */
#define NCLASS 104

extern unsigned char __heap_base;
static volatile int32_t lock_;
static uintptr_t top_;
static void *free_[NCLASS];

static void acquire(void) {
  while (__atomic_exchange_n(&lock_, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&lock_, __ATOMIC_RELAXED)) {}
}
static void release(void) { __atomic_store_n(&lock_, 0, __ATOMIC_RELEASE); }

/* The class of a block of s bytes (header included) and its size: s rounded up to 5, 6, 7 or 8 << (k - 2). */
static int class_of(size_t s, size_t *size) {
  if (s < 256) s = 256;
  int k = 31 - __builtin_clz((uint32_t)(s - 1));
  size_t q = ((s - 1) >> (k - 2)) & 3;
  *size = (4 + q + 1) << (k - 2);
  return (k - 7) * 4 + (int)q;
}

/* A block of `total` bytes (header included) whose first byte is 64-aligned, or NULL. */
static void *block(size_t total, int *cls) {
  size_t size;
  if (total > ((size_t)1 << 31)) return NULL;
  int c = class_of(total, &size);
  *cls = c;
  acquire();
  void *b = free_[c];
  if (b) {
    free_[c] = *(void **)b;
  } else {
    if (!top_) top_ = ((uintptr_t)&__heap_base + 63) & ~(uintptr_t)63;
    uintptr_t end = top_ + size, have = __builtin_wasm_memory_size(0) * 65536;
    if (end < top_ || (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1)) {
      release();
      return NULL;
    }
    b = (void *)top_;
    top_ = end;
  }
  release();
  return b;
}

void *aligned_alloc(size_t align, size_t n) {
  int cls;
  if (align < 64) align = 64;
  if (n > ((size_t)1 << 31)) return NULL;
  char *b = block(n + HDR + (align > 64 ? align : 0), &cls);
  if (!b) return NULL;
  char *p = (char *)(((uintptr_t)b + HDR + align - 1) & ~(uintptr_t)(align - 1));
  ((uint32_t *)p)[-1] = (uint32_t)cls;
  ((uint32_t *)p)[-2] = (uint32_t)(uintptr_t)b;
  return p;
}

void *malloc(size_t n) { return aligned_alloc(64, n); }

void free(void *p) {
  if (!p) return;
  int cls = (int)((uint32_t *)p)[-1];
  void *b = (void *)(uintptr_t)((uint32_t *)p)[-2];
  acquire();
  *(void **)b = free_[cls];
  free_[cls] = b;
  release();
}

void *calloc(size_t n, size_t size) {
  if (size && n > ((size_t)1 << 31) / size) return NULL;
  void *p = malloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void *realloc(void *p, size_t n) {
  if (!p) return malloc(n);
  char *b = (char *)(uintptr_t)((uint32_t *)p)[-2];
  int cls = (int)((uint32_t *)p)[-1];
  size_t size = (size_t)(4 + (cls & 3) + 1) << (cls / 4 + 5); /* the block's size, from its class (class_of) */
  size_t have = size - (size_t)((char *)p - b);
  if (n <= have) return p;
  void *q = malloc(n);
  if (q) {
    memcpy(q, p, have);
    free(p);
  }
  return q;
}

int posix_memalign(void **out, size_t align, size_t n) {
  void *p = aligned_alloc(align, n);
  if (!p) return 12; /* ENOMEM */
  *out = p;
  return 0;
}

/* ---- getenv over the NABLA_* settings the JS loader passes in (nbw_setenv) ---- */

static char env_[1024];

/* Sets the environment the C reads, as "NAME=value\n" lines (at most 1023 bytes). */
NBW_EXPORT(nbw_setenv) char *nbw_setenv(void) { return env_; }

char *getenv(const char *name) {
  size_t n = strlen(name);
  for (char *l = env_; *l;) {
    char *end = strchr(l, '\n');
    if (!end) break;
    if (!strncmp(l, name, n) && l[n] == '=') {
      static char v[128];
      size_t m = (size_t)(end - l - n - 1);
      if (m >= sizeof v) m = sizeof v - 1;
      memcpy(v, l + n + 1, m);
      v[m] = 0;
      return v;
    }
    l = end + 1;
  }
  return NULL;
}

/* ---- snprintf: %s %c %d %i %u %x %g %f %e with l, ll, z, precision; enough for error messages ---- */

typedef struct {
  char *buf;
  size_t size, len;
} out_t;

static void emit(out_t *o, char c) {
  if (o->len + 1 < o->size) o->buf[o->len] = c;
  o->len++;
}

static void emit_str(out_t *o, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) emit(o, s[i]);
}

static void emit_uint(out_t *o, unsigned long long v, int base) {
  char d[24];
  int n = 0;
  do {
    d[n++] = "0123456789abcdef"[v % (unsigned)base];
    v /= (unsigned)base;
  } while (v);
  while (n) emit(o, d[--n]);
}

/* %.{prec}g (style 'g'), %.{prec}f ('f') or %.{prec}e ('e'), to within the last digit. */
static void emit_double(out_t *o, double v, int prec, char style) {
  if (v != v) return emit_str(o, "nan", 3);
  if (v < 0 || (v == 0 && 1 / v < 0)) {
    emit(o, '-');
    v = -v;
  }
  if (v == __builtin_inf()) return emit_str(o, "inf", 3);
  int e10 = 0;
  if (v != 0) {
    double m = v;
    while (m >= 10) m /= 10, e10++;
    while (m < 1) m *= 10, e10--;
  }
  if (style == 'g') {
    if (prec == 0) prec = 1;
    style = e10 < -4 || e10 >= prec ? 'e' : 'f';
    prec = style == 'e' ? prec - 1 : prec - 1 - e10;
    /* %g drops trailing zeros: print, then trim */
    out_t t = {0};
    char tmp[64];
    t.buf = tmp;
    t.size = sizeof tmp;
    emit_double(&t, v, prec, style);
    size_t n = t.len < sizeof tmp ? t.len : sizeof tmp - 1, epos = n;
    for (size_t i = 0; i < n; i++)
      if (tmp[i] == 'e') epos = i;
    size_t end = epos;
    int dot = 0;
    for (size_t i = 0; i < epos; i++) dot |= tmp[i] == '.';
    if (dot) {
      while (end > 0 && tmp[end - 1] == '0') end--;
      if (end > 0 && tmp[end - 1] == '.') end--;
    }
    emit_str(o, tmp, end);
    emit_str(o, tmp + epos, n - epos);
    return;
  }
  double scale = 1;
  if (style == 'e') {
    for (int i = 0; i < e10; i++) scale *= 10;
    for (int i = 0; i > e10; i--) scale /= 10;
    v /= scale;
  }
  double r = 0.5;
  for (int i = 0; i < prec; i++) r /= 10;
  v += r;
  if (style == 'e' && v >= 10) v /= 10, e10++;
  unsigned long long ip = v < 1.8e19 ? (unsigned long long)v : 0;
  if (v >= 1.8e19) {
    emit_str(o, "1e+19+", 6);
    return;
  }
  emit_uint(o, ip, 10);
  v -= (double)ip;
  if (prec > 0) emit(o, '.');
  for (int i = 0; i < prec; i++) {
    v *= 10;
    int d = (int)v;
    emit(o, (char)('0' + d));
    v -= d;
  }
  if (style == 'e') {
    emit(o, 'e');
    emit(o, e10 < 0 ? '-' : '+');
    if (e10 < 0) e10 = -e10;
    if (e10 < 10) emit(o, '0');
    emit_uint(o, (unsigned)e10, 10);
  }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  out_t o = {buf, size, 0};
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      emit(&o, *f);
      continue;
    }
    f++;
    int prec = -1, lng = 0, zu = 0;
    if (*f == '.') {
      prec = 0;
      for (f++; *f >= '0' && *f <= '9'; f++) prec = prec * 10 + (*f - '0');
    }
    for (; *f == 'l' || *f == 'z'; f++) (*f == 'l' ? lng++ : zu++);
    switch (*f) {
    case 'd':
    case 'i': {
      long long v = lng >= 2 ? va_arg(ap, long long)
                    : lng    ? va_arg(ap, long)
                    : zu     ? (long long)va_arg(ap, ptrdiff_t)
                             : va_arg(ap, int);
      if (v < 0) emit(&o, '-');
      emit_uint(&o, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, 10);
      break;
    }
    case 'u':
    case 'x': {
      unsigned long long v = lng >= 2 ? va_arg(ap, unsigned long long)
                             : lng    ? va_arg(ap, unsigned long)
                             : zu     ? va_arg(ap, size_t)
                                      : va_arg(ap, unsigned);
      emit_uint(&o, v, *f == 'x' ? 16 : 10);
      break;
    }
    case 'g':
    case 'f':
    case 'e':
      emit_double(&o, va_arg(ap, double), prec < 0 ? 6 : prec, *f);
      break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) s = "(null)";
      emit_str(&o, s, prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s));
      break;
    }
    case 'c':
      emit(&o, (char)va_arg(ap, int));
      break;
    case '%':
      emit(&o, '%');
      break;
    default:
      emit(&o, '%');
      if (*f) emit(&o, *f);
      if (!*f) f--;
    }
  }
  if (size) buf[o.len < size ? o.len : size - 1] = 0;
  return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

/* Linear memory for the JS loader's argument copies (marshal.ts). */
NBW_EXPORT(nbw_alloc) void *nbw_alloc(size_t n) { return malloc(n); }
NBW_EXPORT(nbw_free) void nbw_free(void *p) { free(p); }
