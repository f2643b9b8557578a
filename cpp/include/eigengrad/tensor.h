// eigengrad: n-d tensors (row-major, contiguous, float32 or float64) over shared storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eigengrad/errors.h"

namespace eigengrad {

/// The element types a tensor can hold.
enum class DType : std::uint8_t { Float32, Float64 };

/// Bytes per element of `dtype`.
std::size_t itemsize(DType dtype);
/// NumPy's name for `dtype`: "float32" or "float64".
const char* dtype_name(DType dtype);
/// NumPy 2 promotion between two float dtypes: the wider one.
DType promote(DType a, DType b);

using Shape = std::vector<std::int64_t>;

/// "(2, 3)", "()", "(4,)": shapes as NumPy prints them, for error messages.
std::string shape_str(const Shape& shape);
/// Number of elements; throws ValueError on negative dims and MemoryError when the
/// count or its byte size cannot be represented.
std::int64_t shape_numel(const Shape& shape, DType dtype = DType::Float64);

/// A block of memory holding tensor elements. Either owned (64-byte aligned, from the
/// heap) or borrowed from someone else (a NumPy array), in which case `owner` keeps
/// the lender alive and releases it when the last tensor using it goes away.
class Storage {
 public:
  /// Allocates `nbytes` uninitialised, 64-byte aligned bytes.
  explicit Storage(std::size_t nbytes);
  /// Borrows `data`; `owner` is destroyed (and so releases the lender) with this storage.
  Storage(void* data, std::size_t nbytes, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  /// True when the memory belongs to someone else (a NumPy array).
  bool borrowed() const { return !owned_; }

 private:
  void* data_;
  void* raw_ = nullptr;  // what malloc returned, when owned
  std::size_t nbytes_;
  std::shared_ptr<void> owner_;  // empty when the storage owns data_
  bool owned_;
};

/// An n-d array of float32 or float64: a shape, a dtype and a shared contiguous
/// row-major buffer. Copying a Tensor shares the buffer (a view); `clone()` copies.
/// Tensors are always contiguous: layout changes (transpose, slicing) produce new
/// buffers, reshape shares. A default-constructed Tensor is "undefined".
class Tensor {
 public:
  Tensor() = default;
  /// Allocates an uninitialised tensor.
  Tensor(Shape shape, DType dtype);
  /// Wraps existing storage (which must hold at least numel * itemsize bytes).
  Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype);

  static Tensor zeros(const Shape& shape, DType dtype);
  static Tensor full(const Shape& shape, double value, DType dtype);
  /// A 0-d tensor holding `value`.
  static Tensor scalar(double value, DType dtype);
  /// Copies `values` (row-major) into a new tensor of `shape`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::Float64);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  std::int64_t ndim() const { return static_cast<std::int64_t>(shape_.size()); }
  std::int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  void* data() const { return storage_ ? storage_->data() : nullptr; }
  template <class T>
  T* data_as() const { return static_cast<T*>(data()); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  /// A tensor sharing this buffer with another shape of the same element count.
  Tensor view(const Shape& shape) const;
  /// A new buffer holding the same values.
  Tensor clone() const;
  /// The values converted to `dtype` (this tensor itself when the dtype matches).
  Tensor to(DType dtype) const;
  /// Element `i` of the flat buffer as a double.
  double item_at(std::int64_t i) const;
  /// The only element; throws ValueError unless numel() == 1.
  double item() const;
  /// All elements as doubles, row-major.
  std::vector<double> to_vector() const;

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  std::int64_t numel_ = 0;
  DType dtype_ = DType::Float64;
};

}  // namespace eigengrad
