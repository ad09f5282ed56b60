// Runtime ISA detection by cpuid + xgetbv (the OS must save the wide registers), so one binary runs
// on any x86-64 and picks AVX-512, AVX2/FMA or the portable scalar path. NABLA_ISA caps the choice.
#include <stdlib.h>
#include <string.h>
#include "nabla.h"
#if defined(__x86_64__)
#include <cpuid.h>
static unsigned long long xgetbv0(void) {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((unsigned long long)hi << 32) | lo;
}
static int detect(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return NB_ISA_SCALAR;
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx) return NB_ISA_SCALAR;
  unsigned long long xcr0 = xgetbv0();
  if ((xcr0 & 6) != 6) return NB_ISA_SCALAR;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return NB_ISA_SCALAR;
  int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
  if (avx512f && fma && avx2 && (xcr0 & 0xe6) == 0xe6) return NB_ISA_AVX512;
  if (avx2 && fma) return NB_ISA_AVX2;
  return NB_ISA_SCALAR;
}
#else
static int detect(void) { return NB_ISA_SCALAR; }
#endif

static int cpu_isa = -1, active_isa = -1;

static int parse_isa(const char *s) {
  if (!s) return -1;
  if (!strcmp(s, "scalar")) return NB_ISA_SCALAR;
  if (!strcmp(s, "avx2")) return NB_ISA_AVX2;
  if (!strcmp(s, "avx512")) return NB_ISA_AVX512;
  return -1;
}

int nb_cpu_isa(void) {
  if (cpu_isa < 0) cpu_isa = detect();
  return cpu_isa;
}

int nb_active_isa(void) {
  if (active_isa < 0) {
    int cap = parse_isa(getenv("NABLA_ISA"));
    active_isa = nb_cpu_isa();
    if (cap >= 0 && cap < active_isa) active_isa = cap;
  }
  return active_isa;
}

void nb_set_isa(int isa) { active_isa = isa < 0 ? 0 : isa > nb_cpu_isa() ? nb_cpu_isa() : isa; }

const char *nb_isa_name(int isa) { return isa == NB_ISA_AVX512 ? "avx512" : isa == NB_ISA_AVX2 ? "avx2" : "scalar"; }
