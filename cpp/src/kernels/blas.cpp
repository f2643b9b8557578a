// The optional BLAS backend of the matrix products, loaded at run time (dlopen), and
// what the build was compiled for (eigengrad/config.h).
//
// Note [GEMM backends]
// Eigen computes every matrix product unless a BLAS library has been loaded
// (eigengrad loads the scipy-openblas32 wheel at import when the `blas` extra is
// installed: python/eigengrad/config.py). Nothing links against BLAS at build time,
// so `pip install .` needs none, and the wheel's `scipy_`-prefixed symbols (which
// rule out Eigen's own EIGEN_USE_BLAS, calling `sgemm_`) are looked up by name.
// In "auto", a product goes to BLAS from a number of multiply-adds m*n*k on, per
// dtype; below it Eigen is as fast or faster (no thread start-up, no packing of
// small panels). The defaults come from measurements, one thread, medians
// (bench/python/gemm_backends.py prints the crossover on any machine):
//  - AVX-512 build (AMD EPYC Zen 4 here): called directly, OpenBLAS 0.3.34 (SkylakeX
//    kernels) beats Eigen at every square size measured, n = 32 to 2048, float32
//    and float64 (0.72-0.97x Eigen's time at n = 32-64, 0.7-0.9x from 128 on): from
//    3e4 (n = 32), leaving the tiniest products, where a library call costs more
//    than the product, to Eigen.
//  - AVX2 build (AMD EPYC without AVX-512, measured in issue 12): Eigen is 2-3x
//    faster for float32 up to n = 256, equal at 512, 2-6% slower from 1024: from 5e8.
//  - narrower builds (SSE2, the portable x86-64): Eigen takes 1.8-1.9x OpenBLAS's
//    time (OpenBLAS picks its kernels for the CPU at run time): from 3e4.
// The choice depends only on the shape, the dtype, the setting and whether a library
// is loaded, never on timings taken at run time, so a program gives the same bits
// every run for a fixed thread count (OpenBLAS splits a product over its threads by
// blocks of the output: each element is summed in the same order for a given count).
//
// Note [One thread pool]
// BLAS always runs on one thread, the caller's. Large products are split by rows
// over eigengrad's own OpenMP threads (kernels/gemm.cpp), each block one BLAS call,
// as Eigen's products are. With BLAS on its own pool, the 784-1024-1024-10 MLP step
// took 40-44 ms on 2 threads against 27 ms on one: after its work each pool's idle
// threads spin for a while (OpenBLAS's up to 2^28 cycles, libgomp's 300,000 turns),
// so on two cores the element-wise kernels' threads and OpenBLAS's took the cores
// from each other. With libgomp's spin shortened (Note [OpenMP spin], eigengrad's
// __init__.py) the step took 15.8-16.9 ms with BLAS's own pool and 15.3-15.5 ms
// with this one pool (medians, 2 idle cores). Small products stay on one thread (below
// kernels/gemm.cpp's parallel size): on a shared machine the digits demo's 64-256-10
// steps took 25x longer on 2 OpenBLAS threads than on one while another process held
// a core.
#include "blas.h"

#include <dlfcn.h>

#include <atomic>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "eigengrad/config.h"
#include "eigen.h"

namespace eigengrad {

namespace {

using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float,
                         float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int,
                         double, double*, int);
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();
using StringFn = char* (*)();

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;  // the CBLAS enums

struct Blas {
  std::atomic<SgemmFn> sgemm{nullptr};
  std::atomic<DgemmFn> dgemm{nullptr};
  SetThreadsFn set_threads = nullptr;
  GetThreadsFn get_threads = nullptr;
  std::mutex mutex;  // loading, info and the thread count
  BlasInfo info;
};

Blas& blas() {
  static Blas state;
  return state;
}

enum Backend : int { kAuto, kEigen, kBlas };
std::atomic<int> backend{kAuto};

#if defined(__AVX2__) && !defined(__AVX512F__)
constexpr double kDefaultThreshold = 5e8;
#else
constexpr double kDefaultThreshold = 3e4;
#endif
std::atomic<double> threshold_f32{kDefaultThreshold};
std::atomic<double> threshold_f64{kDefaultThreshold};

std::atomic<double>& threshold_for(int element_size) {
  if (element_size == 4) return threshold_f32;
  if (element_size == 8) return threshold_f64;
  throw std::invalid_argument("blas threshold: element size must be 4 (float32) or 8 (float64), got " +
                              std::to_string(element_size));
}

/// The first of `names` the library defines, or null.
void* find(void* handle, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (void* symbol = dlsym(handle, name)) return symbol;
  return nullptr;
}

}  // namespace

BuildInfo build_info() {
  BuildInfo info;
#if defined(__AVX512F__)
  info.simd = "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
  info.simd = "AVX2+FMA";
#elif defined(__AVX2__)
  info.simd = "AVX2";
#elif defined(__AVX__)
  info.simd = "AVX";
#elif defined(__SSE4_2__)
  info.simd = "SSE4.2";
#elif defined(__SSE2__)
  info.simd = "SSE2";
#elif defined(__ARM_NEON)
  info.simd = "NEON";
#else
  info.simd = "none";
#endif
#if defined(__clang__)
  info.compiler = "Clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "GCC " __VERSION__;
#else
  info.compiler = "unknown";
#endif
  info.eigen_version = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                       std::to_string(EIGEN_MINOR_VERSION);
#ifdef _OPENMP
  info.openmp = true;
#endif
  return info;
}

BlasInfo blas_info() {
  std::lock_guard<std::mutex> lock(blas().mutex);
  return blas().info;
}

void load_blas(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* error = dlerror();
    throw std::runtime_error("load_blas: cannot load " + path + ": " + (error ? error : "unknown error"));
  }
  auto sgemm = reinterpret_cast<SgemmFn>(find(handle, {"scipy_cblas_sgemm", "cblas_sgemm"}));
  auto dgemm = reinterpret_cast<DgemmFn>(find(handle, {"scipy_cblas_dgemm", "cblas_dgemm"}));
  if (!sgemm || !dgemm)
    throw std::runtime_error("load_blas: " + path + " defines neither scipy_cblas_sgemm/dgemm nor cblas_sgemm/dgemm");
  // The handle stays open for the life of the process: products may be running.
  auto config = reinterpret_cast<StringFn>(find(handle, {"scipy_openblas_get_config", "openblas_get_config"}));
  auto corename = reinterpret_cast<StringFn>(find(handle, {"scipy_openblas_get_corename", "openblas_get_corename"}));
  Blas& b = blas();
  std::lock_guard<std::mutex> lock(b.mutex);
  b.set_threads = reinterpret_cast<SetThreadsFn>(
      find(handle, {"scipy_openblas_set_num_threads", "openblas_set_num_threads", "MKL_Set_Num_Threads"}));
  b.get_threads = reinterpret_cast<GetThreadsFn>(
      find(handle, {"scipy_openblas_get_num_threads", "openblas_get_num_threads", "MKL_Get_Max_Threads"}));
  b.info.loaded = true;
  b.info.path = path;
  b.info.config = config ? config() : "";
  b.info.corename = corename ? corename() : "";
  b.sgemm.store(sgemm, std::memory_order_release);
  b.dgemm.store(dgemm, std::memory_order_release);
}

void set_gemm_backend(const std::string& name) {
  if (name == "auto") backend = kAuto;
  else if (name == "eigen") backend = kEigen;
  else if (name == "blas") backend = kBlas;
  else throw std::invalid_argument("set_gemm_backend: expected \"auto\", \"eigen\" or \"blas\", got \"" + name + "\"");
}

std::string gemm_backend() {
  switch (backend.load()) {
    case kEigen: return "eigen";
    case kBlas: return "blas";
    default: return "auto";
  }
}

void set_blas_threshold(int element_size, double multiply_adds) {
  std::atomic<double>& slot = threshold_for(element_size);
  if (!(multiply_adds >= 0))
    throw std::invalid_argument("set_blas_threshold: the number of multiply-adds must be >= 0, got " +
                                std::to_string(multiply_adds));
  slot = multiply_adds;
}

double blas_threshold(int element_size) { return threshold_for(element_size).load(); }

namespace kernels {

/// In "auto", products with fewer rows or columns than this stay with Eigen.
constexpr std::int64_t kBlasNarrowest = 16;

template <class T>
bool blas_takes(std::int64_t m, std::int64_t n, std::int64_t k) {
  const int mode = backend.load(std::memory_order_relaxed);
  if (mode == kEigen) return false;
  const bool loaded = sizeof(T) == 4 ? blas().sgemm.load(std::memory_order_acquire) != nullptr
                                     : blas().dgemm.load(std::memory_order_acquire) != nullptr;
  if (!loaded || m > INT_MAX || n > INT_MAX || k > INT_MAX) return false;  // 32-bit BLAS integers
  if (mode == kBlas) return true;
  // A narrow product (a matrix times a few vectors, as in a Hessian-vector product)
  // stays with Eigen: OpenBLAS packs the whole wide operand first, which took half
  // the time of W [h | t] with W 1000 x 1000 (1.3 ms per HVP against Eigen's 1.0).
  if (m < kBlasNarrowest || n < kBlasNarrowest) return false;
  return static_cast<double>(m) * n * k >= threshold_for(sizeof(T)).load(std::memory_order_relaxed);
}

template <class T>
void blas_gemm(const T* x, std::int64_t xc, bool tx, const T* y, std::int64_t yc, bool ty, T* out,
               std::int64_t m, std::int64_t n, std::int64_t k) {
  Blas& b = blas();
  // One thread (Note [One thread pool]). Asked each time: another user of the
  // library (threadpoolctl) may have changed it; the lock only to change it.
  if (b.set_threads && !(b.get_threads && b.get_threads() == 1)) {
    std::lock_guard<std::mutex> lock(b.mutex);
    b.set_threads(1);
  }
  const int ta = tx ? kTrans : kNoTrans, tb = ty ? kTrans : kNoTrans;
  const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
  const int lda = static_cast<int>(xc), ldb = static_cast<int>(yc), ldc = N;
  if constexpr (sizeof(T) == 4)
    b.sgemm.load(std::memory_order_acquire)(kRowMajor, ta, tb, M, N, K, 1.0f, x, lda, y, ldb, 0.0f, out, ldc);
  else
    b.dgemm.load(std::memory_order_acquire)(kRowMajor, ta, tb, M, N, K, 1.0, x, lda, y, ldb, 0.0, out, ldc);
}

template bool blas_takes<float>(std::int64_t, std::int64_t, std::int64_t);
template bool blas_takes<double>(std::int64_t, std::int64_t, std::int64_t);
template void blas_gemm<float>(const float*, std::int64_t, bool, const float*, std::int64_t, bool, float*,
                               std::int64_t, std::int64_t, std::int64_t);
template void blas_gemm<double>(const double*, std::int64_t, bool, const double*, std::int64_t, bool, double*,
                                std::int64_t, std::int64_t, std::int64_t);

}  // namespace kernels
}  // namespace eigengrad
