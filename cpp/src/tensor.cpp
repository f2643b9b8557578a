#include "eigengrad/tensor.h"

#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "allocator.h"
#include "counters.h"
#include "dispatch.h"

namespace eigengrad {

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
  // The byte size of the nonzero dimensions must be representable, even when
  // another dimension is 0 (NumPy: "array is too big"): kernels compute strides from
  // these products, so they must not overflow.
  constexpr std::int64_t kMaxBytes = std::numeric_limits<std::int64_t>::max() / 2;
  const auto size = static_cast<std::int64_t>(itemsize(dtype));
  std::int64_t n = 1;
  bool zero = false, overflow = false;
  for (std::int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(shape));
    if (d == 0) zero = true;
    else if (n > kMaxBytes / size / d) overflow = true;
    else n *= d;
  }
  if (overflow && zero)
    throw std::invalid_argument("array is too big: the nonzero dimensions of shape " + shape_str(shape) +
                                " hold more " + dtype_name(dtype) + " elements than an index can count");
  if (overflow)
    throw OutOfMemory("cannot allocate a " + std::string(dtype_name(dtype)) + " tensor of shape " +
                      shape_str(shape) + ": its size does not fit in memory");
  return zero ? 0 : n;
}

// ---- Storage ------------------------------------------------------------------

namespace {
std::mutex& registry_mutex() {
  static std::mutex* m = new std::mutex();  // leaked: counted into until exit
  return *m;
}

std::vector<detail::Counts*>& registry() {
  static auto* blocks = new std::vector<detail::Counts*>();
  return *blocks;
}

std::vector<detail::Counts*>& free_blocks() {  // blocks of ended threads, for reuse
  static auto* blocks = new std::vector<detail::Counts*>();
  return *blocks;
}

detail::Counts& ended_threads_block() {
  static auto* block = [] {
    auto* b = new detail::Counts();
    b->shared = true;
    std::lock_guard<std::mutex> lock(registry_mutex());
    registry().push_back(b);
    return b;
  }();
  return *block;
}

// This thread's block, and whether the thread is ending (its block given back).
// Plain thread-locals stay valid to the thread's very end; the guard's destructor
// gives the block back.
thread_local detail::Counts* tls_block = nullptr;
thread_local bool tls_block_returned = false;

struct ReturnBlockAtThreadExit {
  ~ReturnBlockAtThreadExit() {
    tls_block_returned = true;
    if (!tls_block) return;
    std::lock_guard<std::mutex> lock(registry_mutex());
    free_blocks().push_back(tls_block);
    tls_block = nullptr;
  }
};
}  // namespace

namespace detail {
Counts& thread_counts() {
  if (tls_block) return *tls_block;
  if (tls_block_returned) return ended_threads_block();
  thread_local ReturnBlockAtThreadExit guard;
  std::lock_guard<std::mutex> lock(registry_mutex());
  if (!free_blocks().empty()) {
    tls_block = free_blocks().back();
    free_blocks().pop_back();
  } else {
    tls_block = new Counts();  // never freed: its counts outlive the thread
    registry().push_back(tls_block);
  }
  return *tls_block;
}

std::int64_t total(std::atomic<std::int64_t> Counts::*field) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::int64_t sum = 0;
  for (const Counts* block : registry()) sum += (block->*field).load(std::memory_order_relaxed);
  return sum;
}

std::size_t counter_blocks() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  return registry().size();
}

BufferStats buffer_stats() {
  BufferStats s;
  s.owned = total(&Counts::owned);
  s.owned_bytes = total(&Counts::owned_bytes);
  s.borrowed = total(&Counts::borrowed);
  return s;
}

#ifdef EIGENGRAD_SANITIZER_CANARY
double sanitizer_canary(const std::string& kind) {
  if (kind == "address") {
    std::unique_ptr<double[]> block(new double[4]{1, 2, 3, 4});
    double* volatile p = block.get();  // hides the size from UBSan's object-size check
    return p[4];                       // one element past the end
  }
  volatile std::int32_t big = std::numeric_limits<std::int32_t>::max();
  return static_cast<double>(big + 1);
}
#endif
}  // namespace detail

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes), counter_(&own_version_), owned_(true) {
  const detail::Block block = detail::allocate(nbytes, {inline_, sizeof inline_});
  data_ = block.data;
  raw_ = block.raw;
  capacity_ = block.capacity;
  in_place_ = block.in_place;
  detail::Counts& counts = detail::thread_counts();
  detail::count(counts, &detail::Counts::owned, 1);
  detail::count(counts, &detail::Counts::owned_bytes, static_cast<std::int64_t>(nbytes));
}

Storage::Storage(void* data, std::size_t nbytes, std::shared_ptr<void> owner, Lender* lender,
                 std::shared_ptr<VersionCounter> version)
    : data_(data), nbytes_(nbytes), owner_(std::move(owner)), lender_(lender),
      shared_version_(std::move(version)), counter_(shared_version_ ? shared_version_.get() : &own_version_),
      owned_(false) {
  detail::count(detail::thread_counts(), &detail::Counts::borrowed, 1);
}

std::shared_ptr<VersionCounter> Storage::shared_counter(const std::shared_ptr<Storage>& storage) {
  if (storage->shared_version_) return storage->shared_version_;
  return std::shared_ptr<VersionCounter>(storage, &storage->own_version_);
}

Storage::~Storage() {
  detail::Counts& counts = detail::thread_counts();
  if (owned_) {
    detail::deallocate({raw_, data_, nbytes_, capacity_, in_place_});
    detail::count(counts, &detail::Counts::owned, -1);
    detail::count(counts, &detail::Counts::owned_bytes, -static_cast<std::int64_t>(nbytes_));
  } else {
    detail::count(counts, &detail::Counts::borrowed, -1);
  }
}

// ---- Tensor -------------------------------------------------------------------

namespace {
/// `message` with the op of this thread's AllocationLabel in front ("exp: ...",
/// "exp (backward): ...").
std::string with_op(const std::string& message) {
  bool backward = false;
  const std::string op = detail::allocation_op(&backward);
  if (op.empty()) return message;
  return op + (backward ? " (backward): " : ": ") + message;
}
}  // namespace

Tensor::Tensor(Shape shape, DType dtype) : shape_(std::move(shape)), dtype_(dtype) {
  try {
    numel_ = shape_numel(shape_, dtype);  // its MemoryError names the dtype and shape
  } catch (const OutOfMemory& e) {
    throw OutOfMemory(with_op(e.what()));
  }
  try {
    storage_ = std::make_shared<Storage>(static_cast<std::size_t>(numel_) * itemsize(dtype_));
  } catch (const OutOfMemory& e) {
    throw OutOfMemory(with_op(std::string(e.what()) + " for a " + dtype_name(dtype_) + " tensor of shape " +
                              shape_str(shape_)));
  }
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
