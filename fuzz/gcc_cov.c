/* GCC's -fsanitize-coverage=trace-pc calls __sanitizer_cov_trace_pc() at each basic block;
 * libFuzzer (atheris' asan_with_fuzzer.so) counts inline 8-bit counters instead.  This bridge
 * maps each calling PC to a counter and registers the counters (and a PC table, which the
 * `cov:` figure counts) with libFuzzer when the extension loads, so the C code guides the fuzzer.
 * Linked into each fuzzing build of an extension only (scripts/asan.sh), never the product. */
#include <stdint.h>

#define SLOTS 65536

static uint8_t counters[SLOTS];
static uintptr_t pcs[2 * SLOTS];

void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop);
void __sanitizer_cov_pcs_init(const uintptr_t *start, const uintptr_t *stop);

__attribute__((visibility("hidden"))) void __sanitizer_cov_trace_pc(void) {
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    counters[(pc ^ (pc >> 16)) & (SLOTS - 1)]++;
}

__attribute__((constructor)) static void register_counters(void) {
    for (uintptr_t i = 0; i < SLOTS; i++) {
        pcs[2 * i] = (uintptr_t)&counters[i];
        pcs[2 * i + 1] = 0;
    }
    __sanitizer_cov_8bit_counters_init(counters, counters + SLOTS);
    __sanitizer_cov_pcs_init(pcs, pcs + 2 * SLOTS);
}

/* GCC's trace-cmp also hooks float compares, which libFuzzer has no hook for: ignored */
__attribute__((visibility("hidden"))) void __sanitizer_cov_trace_cmpf(float a, float b) {
    (void)a; (void)b;
}
__attribute__((visibility("hidden"))) void __sanitizer_cov_trace_cmpd(double a, double b) {
    (void)a; (void)b;
}
