// eigengrad: n-d tensors (row-major, contiguous, float32 or float64) over shared storage.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eigengrad/dtype.h"
#include "eigengrad/errors.h"
#include "eigengrad/small_vector.h"

namespace eigengrad {

/// Dims stored inline (no heap) by Dims and Shape; more spill to the heap.
inline constexpr std::size_t kInlineDims = 6;
/// A short list of per-dimension integers: strides, axes, permutations, slice bounds.
using Dims = SmallVector<std::int64_t, kInlineDims>;
/// The sizes of a tensor's dimensions, outermost first.
using Shape = Dims;

/// "(2, 3)", "()", "(4,)": shapes as NumPy prints them, for error messages.
std::string shape_str(const Shape& shape);
/// Number of elements; throws ValueError on negative dims and when the byte size of
/// the nonzero dimensions cannot be represented (as NumPy: "array is too big", also
/// for a zero-size shape), and MemoryError when it can but never fits in memory.
std::int64_t shape_numel(const Shape& shape, DType dtype = DType::Float64);

/// The lender of a borrowed Storage's memory (a NumPy array) when others can write
/// that memory behind eigengrad's back. While a backward rule keeps the values,
/// eigengrad asks the lender to refuse such writes (see Note [Saved values] in
/// node.cpp). Calls nest: one `release()` per `hold()`.
class Lender {
 public:
  virtual ~Lender() = default;
  /// A backward rule now keeps this memory: refuse writes through the lender.
  virtual void hold() noexcept = 0;
  /// One rule fewer keeps it; writes are allowed again after the last release.
  virtual void release() noexcept = 0;
};

/// The largest buffer a Storage holds inside itself, without an allocation of its
/// own: 16 float32 or 8 float64 (Note [Inline buffers] in allocator.cpp).
inline constexpr std::size_t kInlineStorageBytes = 64;

/// How many in-place writes a memory has seen (Note [Version counter] in node.cpp).
using VersionCounter = std::atomic<std::uint64_t>;

/// A block of memory holding tensor elements. Either owned (64-byte aligned, from
/// eigengrad's allocator: eigengrad/memory.h) or borrowed from someone else (a NumPy array), in which case `owner` keeps
/// the lender alive and releases it when the last tensor using it goes away.
///
/// Every Storage has a version counter: each in-place write that eigengrad makes
/// (optimizer steps, in-place operators, `Variable::copy_`) bumps it, so that a
/// backward rule can tell that a value it saved has changed (Note [Version counter]
/// in node.cpp). Storages borrowing one memory (two conversions of one NumPy
/// array, views of it, a view of an eigengrad buffer) share one counter, given at
/// construction. Writes made through NumPy views cannot be seen.
class Storage {
 public:
  /// Allocates `nbytes` uninitialised, 64-byte aligned bytes. Throws OutOfMemory,
  /// before allocating, when `nbytes` exceeds the machine's memory (RAM and swap).
  explicit Storage(std::size_t nbytes);
  /// Borrows `data`; `owner` is destroyed (and so releases the lender) with this
  /// storage. `lender`, when given, lives in `owner` (see Lender). `version`, when
  /// given, is the counter of the memory shared with the other storages over it.
  Storage(void* data, std::size_t nbytes, std::shared_ptr<void> owner, Lender* lender = nullptr,
          std::shared_ptr<VersionCounter> version = nullptr);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  /// True when the memory belongs to someone else (a NumPy array).
  bool borrowed() const { return !owned_; }
  /// The lender to ask for write protection (null: nobody else writes this memory).
  Lender* lender() const { return lender_; }

  /// How many in-place writes this memory has seen.
  std::uint64_t version() const { return counter_->load(std::memory_order_acquire); }
  /// Records an in-place write (call it after writing).
  void bump_version() { counter_->fetch_add(1, std::memory_order_acq_rel); }
  /// The version counter of `storage`'s memory, to give a storage borrowing part of
  /// it (it keeps `storage` alive).
  static std::shared_ptr<VersionCounter> shared_counter(const std::shared_ptr<Storage>& storage);

 private:
  void* data_;
  std::size_t nbytes_;
  void* raw_ = nullptr;  // when owned: the allocator's block (cpp/src/allocator.h)
  std::size_t capacity_ = 0;
  std::shared_ptr<void> owner_;  // empty when the storage owns data_
  Lender* lender_ = nullptr;
  VersionCounter own_version_{0};
  std::shared_ptr<VersionCounter> shared_version_;  // destroyed before owner_
  VersionCounter* counter_;  // &own_version_ or shared_version_.get()
  bool in_place_ = false;    // data_ lies in inline_ (Note [Inline buffers] in allocator.cpp)
  bool owned_;
  /// Room for a buffer of up to kInlineStorageBytes on a 64-byte boundary (48 bytes
  /// of slack: the space itself is only 16-byte aligned).
  alignas(16) unsigned char inline_[kInlineStorageBytes + 48];
};

namespace detail {
/// Live buffers, for leak checks and the reliability report: the owned ones (count
/// and bytes) and the borrowed ones (each keeps a NumPy array alive). Exact when
/// no other thread is allocating.
struct BufferStats {
  std::int64_t owned = 0;
  std::int64_t owned_bytes = 0;
  std::int64_t borrowed = 0;
};
BufferStats buffer_stats();
/// Fault injection for tests: after `n` more owned allocations succeed, every
/// further one throws OutOfMemory until this is called again; n < 0 disarms it.
void fail_allocations_after(std::int64_t n);
/// How many owned allocations have been made in this process (to aim injection).
std::int64_t allocation_count();
/// How many per-thread blocks of the live counters exist: a thread that ends gives
/// its block back for the next, so this is the most threads ever alive at once.
std::size_t counter_blocks();
/// The largest allocation Storage attempts: the machine's RAM plus swap (0 when unknown).
std::size_t memory_limit();
#ifdef EIGENGRAD_SANITIZER_CANARY
/// Sanitizer builds only (.ci/sanitize): does what the sanitizers must report,
/// "address" a heap-buffer-overflow read, "undefined" a signed integer overflow.
double sanitizer_canary(const std::string& kind);
#endif
}  // namespace detail

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
  /// The version counter of the buffer (shared by every view of it); 0 if undefined.
  std::uint64_t version() const { return storage_ ? storage_->version() : 0; }
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
