// The buffer allocator: Note [Caching allocator] in allocator.h.
#include "allocator.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#if defined(__linux__)
#include <sys/sysinfo.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define EIGENGRAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EIGENGRAD_ASAN 1
#endif
#endif
#ifdef EIGENGRAD_ASAN
#include <sanitizer/asan_interface.h>
#define EIGENGRAD_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define EIGENGRAD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define EIGENGRAD_POISON(p, n) ((void)(p), (void)(n))
#define EIGENGRAD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include "counters.h"
#include "eigengrad/errors.h"
#include "eigengrad/memory.h"
#include "eigengrad/tensor.h"

namespace eigengrad {
namespace detail {
namespace {

constexpr std::size_t kAlignment = 64;
// Requests from this size up are cached (Note [Caching allocator]).
constexpr std::size_t kCacheMin = std::size_t{256} << 10;
constexpr std::size_t kDefaultLimit = std::size_t{256} << 20;

std::string human_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buffer;
}

// The machine's RAM plus swap, read once (at load time).
const std::size_t kMemoryLimit = [] {
#if defined(__linux__)
  struct sysinfo info {};
  if (sysinfo(&info) == 0) return static_cast<std::size_t>(info.totalram + info.totalswap) * info.mem_unit;
#endif
  return std::size_t{0};
}();

// Allocations left before injected failures start; negative: not armed.
std::atomic<std::int64_t> allocations_until_failure{-1};

// The innermost AllocationLabel of this thread.
thread_local const char* tls_op = nullptr;
thread_local bool tls_backward = false;

/// The size class of a request of at least kCacheMin bytes: rounded up to a
/// quarter of its leading power of two.
std::size_t size_class(std::size_t nbytes) {
  std::size_t top = kCacheMin;
  while (top <= nbytes / 2) top *= 2;
  const std::size_t step = top / 4;
  return (nbytes + step - 1) / step * step;
}

/// The cache limit to start with: EIGENGRAD_ALLOC_CACHE when it parses, else the
/// default. A value that does not parse is ignored (nothing here may abort).
std::size_t initial_limit() {
  std::size_t limit = kDefaultLimit;
  if (kMemoryLimit && limit > kMemoryLimit / 16) limit = kMemoryLimit / 16;
  const char* env = std::getenv("EIGENGRAD_ALLOC_CACHE");
  if (!env || !std::isdigit(static_cast<unsigned char>(*env))) return limit;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(env, &end, 10);
  std::size_t scale = 1;
  switch (std::toupper(static_cast<unsigned char>(*end))) {
    case 'K': scale = std::size_t{1} << 10; ++end; break;
    case 'M': scale = std::size_t{1} << 20; ++end; break;
    case 'G': scale = std::size_t{1} << 30; ++end; break;
    default: break;
  }
  if (std::toupper(static_cast<unsigned char>(*end)) == 'B') ++end;
  if (*end != '\0' || value > (std::size_t{1} << 50) / scale) return limit;
  return static_cast<std::size_t>(value) * scale;
}

struct Cache {
  std::mutex mutex;
  std::size_t limit = initial_limit();
  // Cached blocks, the most recently freed first; by size class, oldest first.
  std::list<Block> lru;
  std::unordered_map<std::size_t, std::deque<std::list<Block>::iterator>> by_class;
  std::size_t bytes = 0;
  std::int64_t hits = 0, misses = 0;

  /// A cached block of `capacity` bytes, or one with raw == nullptr. Locked.
  Block take(std::size_t capacity) {
    auto it = by_class.find(capacity);
    if (it == by_class.end() || it->second.empty()) return {};
    auto node = it->second.back();
    it->second.pop_back();
    Block block = *node;
    lru.erase(node);
    bytes -= block.capacity;
    return block;
  }

  /// Frees the least recently freed block. Locked; the cache is not empty.
  void evict_oldest() {
    Block block = lru.back();
    by_class[block.capacity].pop_front();  // the oldest of its class
    lru.pop_back();
    bytes -= block.capacity;
    EIGENGRAD_UNPOISON(block.data, block.capacity);
    std::free(block.raw);
  }

  void trim(std::size_t to) {
    while (bytes > to && !lru.empty()) evict_oldest();
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // leaked: buffers may be freed until the process ends
  return *c;
}

std::atomic<std::int64_t> bytes_in_use{0};
std::atomic<std::int64_t> peak_in_use{0};

void count_in_use(std::int64_t delta) {
  const std::int64_t now = bytes_in_use.fetch_add(delta, std::memory_order_relaxed) + delta;
  std::int64_t peak = peak_in_use.load(std::memory_order_relaxed);
  while (now > peak && !peak_in_use.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

/// malloc'd memory with its start moved up to the next 64-byte boundary. malloc
/// plus manual alignment keeps malloc's fast path for small sizes (aligned_alloc is
/// much slower there); Eigen's vectorised kernels then split an array the same way
/// whatever malloc returned, so results are bitwise reproducible.
Block system_allocate(std::size_t capacity) {
  Block block;
  block.raw = std::malloc(capacity + kAlignment);
  if (!block.raw) return block;
  const auto address = reinterpret_cast<std::uintptr_t>(block.raw);
  block.data = reinterpret_cast<void*>((address + kAlignment) & ~std::uintptr_t(kAlignment - 1));
  block.capacity = capacity;
  return block;
}

/// `nbytes` on a 64-byte boundary inside `space`, or a block with data == nullptr
/// when they do not fit there.
Block place_inline(std::size_t nbytes, InlineSpace space) {
  Block block;
  if (!space.start) return block;
  const auto start = reinterpret_cast<std::uintptr_t>(space.start);
  const std::uintptr_t aligned = (start + kAlignment - 1) & ~std::uintptr_t(kAlignment - 1);
  if (aligned - start + nbytes > space.bytes) return block;
  block.raw = space.start;
  block.data = reinterpret_cast<void*>(aligned);
  block.capacity = space.bytes;
  block.in_place = true;
  // The rest of the space is out of bounds, as the bytes past a heap block are.
  EIGENGRAD_POISON(space.start, aligned - start);
  EIGENGRAD_POISON(static_cast<char*>(block.data) + nbytes, start + space.bytes - aligned - nbytes);
  return block;
}

}  // namespace

// Note [Inline buffers]
// A one-element or 4x4 tensor used to cost two mallocs: its Storage object and its
// buffer, each freed again after the op (a chain of scalar ops made and freed
// three of each per op, and their frees made glibc consolidate its free lists).
// Storage now reserves a small space inside itself (made in the same block as its
// reference count by make_shared), and a buffer that fits there on a 64-byte
// boundary goes there: one allocation per small tensor. Everything else about it
// is as for a heap buffer: it is counted in memory_stats() and buffer_stats(), the
// fault injector may refuse it, its start is 64-byte aligned (so kernels split it
// as they split any buffer: results do not depend on where it lives), and in an
// AddressSanitizer build the unused part of the space is poisoned, so reading past
// the end is still reported.

Block allocate(std::size_t nbytes, InlineSpace space) {
  // A size check first: an allocation larger than the machine could ever hold is
  // refused here instead of being left to malloc (which may overcommit and let the
  // process die later, when the pages are touched).
  if (kMemoryLimit && nbytes > kMemoryLimit)
    throw OutOfMemory("cannot allocate " + human_bytes(static_cast<double>(nbytes)) +
                      ": more than this machine's memory (" + human_bytes(static_cast<double>(kMemoryLimit)) +
                      " of RAM and swap)");
  count(thread_counts(), &Counts::allocations, 1);
  if (allocations_until_failure.load(std::memory_order_relaxed) >= 0 &&
      allocations_until_failure.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    allocations_until_failure.store(0, std::memory_order_relaxed);
    throw OutOfMemory("out of memory allocating " + human_bytes(static_cast<double>(nbytes)) +
                      " (injected fault)");
  }

  Block block = place_inline(nbytes, space);
  if (block.in_place) {
    block.size = nbytes;
    count_in_use(static_cast<std::int64_t>(nbytes));
    return block;
  }
  const bool cacheable = nbytes >= kCacheMin;
  const std::size_t capacity = cacheable ? size_class(nbytes) : nbytes;
  if (cacheable) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    block = c.take(capacity);
    if (block.raw) {
      ++c.hits;
      EIGENGRAD_UNPOISON(block.data, block.capacity);
    } else {
      ++c.misses;
    }
  }
  if (!block.raw) block = system_allocate(capacity);
  if (!block.raw) {
    empty_cache();
    block = system_allocate(capacity);
  }
  if (!block.raw) throw OutOfMemory("out of memory allocating " + human_bytes(static_cast<double>(nbytes)));
  block.size = nbytes;
  count_in_use(static_cast<std::int64_t>(nbytes));
  return block;
}

void deallocate(const Block& block) noexcept {
  if (block.in_place) {
    count_in_use(-static_cast<std::int64_t>(block.size));
    EIGENGRAD_UNPOISON(block.raw, block.capacity);  // the Storage around it is freed next
    return;
  }
  if (!block.raw) return;
  count_in_use(-static_cast<std::int64_t>(block.size));
  if (block.capacity >= kCacheMin) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (block.capacity <= c.limit) {
      try {
        // Insert first (the containers may allocate), evict after: the block just
        // freed is the most recent, so it is never the one evicted.
        c.lru.push_front(block);
        try {
          c.by_class[block.capacity].push_back(c.lru.begin());
        } catch (...) {
          c.lru.pop_front();
          throw;
        }
        c.bytes += block.capacity;
        EIGENGRAD_POISON(block.data, block.capacity);
        c.trim(c.limit);
        return;
      } catch (...) {
        // No memory for the bookkeeping: the block goes back to the system.
      }
    }
  }
  std::free(block.raw);
}

const char* allocation_op(bool* backward) {
  *backward = tls_backward;
  return tls_op ? tls_op : "";
}

void fail_allocations_after(std::int64_t n) { allocations_until_failure.store(n < 0 ? -1 : n); }

std::int64_t allocation_count() { return total(&Counts::allocations); }

std::size_t memory_limit() { return kMemoryLimit; }

}  // namespace detail

MemoryStats memory_stats() {
  MemoryStats s;
  s.bytes_in_use = detail::bytes_in_use.load(std::memory_order_relaxed);
  s.peak_bytes_in_use = detail::peak_in_use.load(std::memory_order_relaxed);
  s.allocations = detail::allocation_count();
  s.borrowed_buffers = detail::total(&detail::Counts::borrowed);
  detail::Cache& c = detail::cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  s.bytes_cached = static_cast<std::int64_t>(c.bytes);
  s.cached_blocks = static_cast<std::int64_t>(c.lru.size());
  s.cache_limit = static_cast<std::int64_t>(c.limit);
  s.cache_hits = c.hits;
  s.cache_misses = c.misses;
  return s;
}

void empty_cache() {
  detail::Cache& c = detail::cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.trim(0);
}

void reset_peak_memory_stats() {
  detail::peak_in_use.store(detail::bytes_in_use.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void set_memory_cache_limit(std::int64_t bytes) {
  if (bytes < 0)
    throw std::invalid_argument("set_memory_cache_limit: the limit must be at least 0 bytes, got " +
                                std::to_string(bytes));
  detail::Cache& c = detail::cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = static_cast<std::size_t>(bytes);
  c.trim(c.limit);
}

std::int64_t memory_cache_limit() {
  detail::Cache& c = detail::cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return static_cast<std::int64_t>(c.limit);
}

AllocationLabel::AllocationLabel(const char* op, bool backward) noexcept
    : previous_op_(detail::tls_op), previous_backward_(detail::tls_backward) {
  detail::tls_op = op;
  detail::tls_backward = backward;
}

AllocationLabel::~AllocationLabel() {
  detail::tls_op = previous_op_;
  detail::tls_backward = previous_backward_;
}

}  // namespace eigengrad
