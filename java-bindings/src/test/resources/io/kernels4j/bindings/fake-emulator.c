/* A stand-in for the CPU emulator library in loader tests: the symbols the loader reads (ABI
 * version, k4j_emu_info, k4j_emu_set_option, k4j_last_error) and stubs of the rest of
 * Kernels4jNative's handles (made when that class initialises); nothing here runs a kernel. */
#include <stdio.h>
#include <string.h>

static char last_error[256] = "";
static char options[1024] = "";

int k4j_abi_version(void) { return 1; }

const char *k4j_last_error(void) { return last_error; }

const char *k4j_emu_info(void) {
    static char info[1200];
    snprintf(info, sizeof info, "kernels4j CPU emulator (sm_90), fake for tests, options [%s]", options);
    return info;
}

int k4j_emu_set_option(const char *key, const char *value) {
    if (strcmp(key, "bad") == 0) {
        snprintf(last_error, sizeof last_error, "bad: unknown option");
        return -1;
    }
    size_t n = strlen(options);
    snprintf(options + n, sizeof options - n, "%s%s=%s", n ? "," : "", key, value);
    return 0;
}

/* Stubs: Kernels4jNative binds these when it initialises. */
const char *k4j_version_string(void) { return "0.0.0-fake"; }
const char *k4j_cuda_archs(void) { return "none"; }
int k4j_cuda_build_version(void) { return 0; }
int k4j_host_f32_to_e4m3(const void *src, void *dst, long long n, int saturate) { (void)src; (void)dst; (void)n; (void)saturate; return -2; }
int k4j_host_e4m3_to_f32(const void *src, void *dst, long long n) { (void)src; (void)dst; (void)n; return -2; }
int k4j_host_f32_to_bf16(const void *src, void *dst, long long n) { (void)src; (void)dst; (void)n; return -2; }
int k4j_fill(long long dst, long long n, int dtype, int bits, void *stream) { (void)dst; (void)n; (void)dtype; (void)bits; (void)stream; return -2; }
