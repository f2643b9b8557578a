#include "eigengrad/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "dispatch.h"

namespace eigengrad {

std::size_t itemsize(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }

const char* dtype_name(DType dtype) { return dtype == DType::Float32 ? "float32" : "float64"; }

DType promote(DType a, DType b) {
  return (a == DType::Float64 || b == DType::Float64) ? DType::Float64 : DType::Float32;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::int64_t shape_numel(const Shape& shape, DType dtype) {
  constexpr std::int64_t kMaxBytes = std::numeric_limits<std::int64_t>::max() / 2;
  std::int64_t n = 1;
  bool overflow = false;
  for (std::int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(shape));
    if (d == 0) return 0;
    if (n > kMaxBytes / d) overflow = true;
    else n *= d;
  }
  if (overflow || n > kMaxBytes / static_cast<std::int64_t>(itemsize(dtype)))
    throw OutOfMemory("cannot allocate a " + std::string(dtype_name(dtype)) + " tensor of shape " +
                      shape_str(shape) + ": its size does not fit in memory");
  return n;
}

// ---- Storage ------------------------------------------------------------------

namespace {
constexpr std::size_t kAlignment = 64;
}

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes), owned_(true) {
  // Every buffer starts on a cache line: Eigen's vectorised kernels then split an
  // array the same way whatever the allocator returned, so results are bitwise
  // reproducible. malloc plus manual alignment keeps malloc's fast path for small
  // sizes (aligned_alloc is much slower there); the offset is kept in raw_.
  raw_ = std::malloc(nbytes + kAlignment);
  if (raw_) {
    auto address = reinterpret_cast<std::uintptr_t>(raw_);
    data_ = reinterpret_cast<void*>((address + kAlignment) & ~std::uintptr_t(kAlignment - 1));
  } else {
    data_ = nullptr;
  }
  if (!data_)
    throw OutOfMemory("out of memory allocating " + std::to_string(nbytes) + " bytes");
}

Storage::Storage(void* data, std::size_t nbytes, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), owner_(std::move(owner)), owned_(false) {}

Storage::~Storage() {
  if (owned_) std::free(raw_);
}

// ---- Tensor -------------------------------------------------------------------

Tensor::Tensor(Shape shape, DType dtype)
    : shape_(std::move(shape)), numel_(shape_numel(shape_, dtype)), dtype_(dtype) {
  storage_ = std::make_shared<Storage>(static_cast<std::size_t>(numel_) * itemsize(dtype_));
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)),
      numel_(shape_numel(shape_, dtype)), dtype_(dtype) {
  if (!storage_ || storage_->nbytes() < static_cast<std::size_t>(numel_) * itemsize(dtype_))
    throw InternalError("Tensor: storage too small for shape " + shape_str(shape_));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t(shape, dtype);
  if (t.numel_) std::memset(t.data(), 0, static_cast<std::size_t>(t.numel_) * itemsize(dtype));
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t(shape, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data_as<T>();
    for (std::int64_t i = 0; i < t.numel_; ++i) p[i] = static_cast<T>(value);
  });
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  Tensor t(shape, dtype);
  if (static_cast<std::int64_t>(values.size()) != t.numel_)
    throw std::invalid_argument("Tensor.from_vector: " + std::to_string(values.size()) +
                                " values for shape " + shape_str(shape));
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data_as<T>();
    for (std::int64_t i = 0; i < t.numel_; ++i) p[i] = static_cast<T>(values[i]);
  });
  return t;
}

Tensor Tensor::view(const Shape& shape) const {
  if (shape_numel(shape, dtype_) != numel_)
    throw std::invalid_argument("cannot view a tensor of shape " + shape_str(shape_) +
                                " as shape " + shape_str(shape));
  return Tensor(storage_, shape, dtype_);
}

Tensor Tensor::clone() const {
  Tensor t(shape_, dtype_);
  if (numel_) std::memcpy(t.data(), data(), static_cast<std::size_t>(numel_) * itemsize(dtype_));
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor t(shape_, dtype);
  if (dtype == DType::Float64) {
    const float* src = data_as<float>();
    double* dst = t.data_as<double>();
    for (std::int64_t i = 0; i < numel_; ++i) dst[i] = src[i];
  } else {
    const double* src = data_as<double>();
    float* dst = t.data_as<float>();
    for (std::int64_t i = 0; i < numel_; ++i) dst[i] = static_cast<float>(src[i]);
  }
  return t;
}

double Tensor::item_at(std::int64_t i) const {
  return dtype_ == DType::Float32 ? data_as<float>()[i] : data_as<double>()[i];
}

double Tensor::item() const {
  if (numel_ != 1)
    throw std::invalid_argument("item: only a tensor with one element converts to a scalar, got shape " +
                                shape_str(shape_));
  return item_at(0);
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> v(static_cast<std::size_t>(numel_));
  for (std::int64_t i = 0; i < numel_; ++i) v[i] = item_at(i);
  return v;
}

}  // namespace eigengrad
