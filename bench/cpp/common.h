// Helpers shared by the C++ benchmarks: one thread, random inputs through the
// public API.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <type_traits>

#include "eigengrad/eigengrad.h"

namespace bench {

namespace eg = eigengrad;

/// The eigengrad dtype of float or double.
template <class T>
constexpr eg::DType kDType = std::is_same_v<T, float> ? eg::DType::Float32 : eg::DType::Float64;

/// Setup of every benchmark: eigengrad's kernels on one thread, as the Eigen
/// baselines (built with EIGEN_DONT_PARALLELIZE).
inline void single_thread(const benchmark::State&) { eg::set_num_threads(1); }

/// A tensor of values drawn uniformly from [-scale, scale] (a fixed seed per call
/// site, so runs are repeatable).
inline eg::Tensor random_tensor(const eg::Shape& shape, eg::DType dtype, unsigned seed,
                                double scale = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  eg::Tensor t(shape, dtype);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == eg::DType::Float32) t.data_as<float>()[i] = static_cast<float>(u(rng));
    else t.data_as<double>()[i] = u(rng);
  }
  return t;
}

}  // namespace bench
