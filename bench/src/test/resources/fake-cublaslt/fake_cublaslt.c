/* A stand-in for libcublasLt.so used by CublasLtBindingTest (no GPU, no CUDA): it exports the
 * cuBLASLt entry points the peer binds, with the C signatures of cublasLt.h (CUDA 12.9/13), and
 * records what it was given so the test can check the Panama side: argument order and types,
 * descriptor attributes, layouts, the heuristic result handling and the matmul call. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct { int kind; int id; } obj_t; /* 1 handle, 2 matmul desc, 3 layout, 4 preference */
static obj_t objs[64];
static int nobjs;
static int64_t desc_attr[64];       /* last value per cublasLtMatmulDescAttributes_t */
static int64_t desc_attr_size[64];
static int64_t layouts[16][4];      /* type, rows, cols, ld, in creation order */
static int nlayouts;
static int64_t pref_ws;
static int64_t mm[16];              /* matmul arguments, see fake_get */
static int destroyed;
static int compute_type, scale_type;

static void *mk(int kind) { objs[nobjs].kind = kind; objs[nobjs].id = nobjs; return &objs[nobjs++]; }
static int idof(const void *p) { return ((const obj_t *) p)->id; }

size_t cublasLtGetVersion(void) { return 130000; }
const char *cublasLtGetStatusName(int s) { return s == 15 ? "CUBLAS_STATUS_NOT_SUPPORTED" : "FAKE_STATUS"; }
int cublasLtCreate(void **h) { *h = mk(1); return 0; }
int cublasLtDestroy(void *h) { (void) h; destroyed++; return 0; }
int cublasLtMatmulDescCreate(void **d, int computeType, int scaleType) {
    compute_type = computeType; scale_type = scaleType; *d = mk(2); return 0;
}
int cublasLtMatmulDescDestroy(void *d) { (void) d; destroyed++; return 0; }
int cublasLtMatmulDescSetAttribute(void *d, int attr, const void *buf, size_t size) {
    (void) d;
    if (attr < 0 || attr >= 64) return 7;
    int64_t v = 0;
    if (size == 4) { int32_t x; memcpy(&x, buf, 4); v = x; }
    else if (size == 8) memcpy(&v, buf, 8);
    else return 7; /* CUBLAS_STATUS_INVALID_VALUE */
    desc_attr[attr] = v; desc_attr_size[attr] = (int64_t) size;
    return 0;
}
int cublasLtMatrixLayoutCreate(void **l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    layouts[nlayouts][0] = type; layouts[nlayouts][1] = (int64_t) rows; layouts[nlayouts][2] = (int64_t) cols;
    layouts[nlayouts][3] = ld; nlayouts++;
    *l = mk(3); return 0;
}
int cublasLtMatrixLayoutDestroy(void *l) { (void) l; destroyed++; return 0; }
int cublasLtMatmulPreferenceCreate(void **p) { *p = mk(4); return 0; }
int cublasLtMatmulPreferenceDestroy(void *p) { (void) p; destroyed++; return 0; }
int cublasLtMatmulPreferenceSetAttribute(void *p, int attr, const void *buf, size_t size) {
    (void) p;
    if (attr != 1 || size != 8) return 7;
    memcpy(&pref_ws, buf, 8); return 0;
}

typedef struct { uint64_t data[8]; size_t workspaceSize; int state; float wavesCount; int reserved[4]; } heur_t;

int cublasLtMatmulAlgoGetHeuristic(void *h, void *op, void *a, void *b, void *c, void *d, void *pref,
                                   int requested, heur_t *results, int *returned) {
    (void) h; (void) op; (void) a; (void) b; (void) c; (void) d; (void) pref;
    if (requested < 2) return 7;
    memset(results, 0, sizeof(heur_t) * 2);
    results[0].data[0] = 0x1111; results[0].workspaceSize = (size_t) 1 << 40; /* too big: must be skipped */
    results[1].data[0] = 0xABCD; results[1].workspaceSize = 1 << 20; results[1].wavesCount = 1.5f;
    *returned = 2;
    return 0;
}

int cublasLtMatmul(void *h, void *op, const void *alpha, const void *A, void *Adesc, const void *B, void *Bdesc,
                   const void *beta, const void *C, void *Cdesc, void *D, void *Ddesc, const heur_t *algo,
                   void *ws, size_t wsSize, void *stream) {
    float al, be;
    memcpy(&al, alpha, 4); memcpy(&be, beta, 4);
    mm[0] = (int64_t) (intptr_t) A; mm[1] = idof(Adesc); mm[2] = (int64_t) (intptr_t) B; mm[3] = idof(Bdesc);
    mm[4] = (int64_t) (intptr_t) C; mm[5] = idof(Cdesc); mm[6] = (int64_t) (intptr_t) D; mm[7] = idof(Ddesc);
    mm[8] = (int64_t) algo->data[0]; mm[9] = (int64_t) (intptr_t) ws; mm[10] = (int64_t) wsSize;
    mm[11] = (int64_t) (intptr_t) stream; mm[12] = (int64_t) (al * 1000); mm[13] = (int64_t) (be * 1000);
    mm[14] = idof(h); mm[15] = idof(op);
    return 0;
}

/* Test access: 0..15 matmul args; 100+attr desc attributes; 200+attr their sizes; 300+4*i+j layout i field j;
 * 400 layouts; 401 preference workspace; 402 destroys; 403 compute type; 404 scale type. */
int64_t fake_get(int key) {
    if (key >= 0 && key < 16) return mm[key];
    if (key >= 100 && key < 164) return desc_attr[key - 100];
    if (key >= 200 && key < 264) return desc_attr_size[key - 200];
    if (key >= 300 && key < 364) return layouts[(key - 300) / 4][(key - 300) % 4];
    switch (key) {
        case 400: return nlayouts;
        case 401: return pref_ws;
        case 402: return destroyed;
        case 403: return compute_type;
        case 404: return scale_type;
    }
    return -1;
}
void fake_reset(void) {
    memset(desc_attr, 0, sizeof desc_attr); memset(desc_attr_size, 0, sizeof desc_attr_size);
    memset(layouts, 0, sizeof layouts); memset(mm, 0, sizeof mm);
    nlayouts = 0; pref_ws = 0; destroyed = 0;
}
