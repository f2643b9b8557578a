// eigengrad: SmallVector, a vector that keeps its first N elements inline.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace eigengrad {

/// A contiguous vector of trivially copyable `T` with room for `N` elements inside
/// the object: up to `N` elements it never touches the heap; past `N` it moves them
/// to a heap buffer (growing by doubling) and keeps them there until destroyed.
///
/// Shapes, strides and axis lists are this type (Shape, AxisList in tensor.h): they
/// hold a handful of dims, and a tiny op used to spend a third of its mallocs on
/// 8-16 byte std::vector<int64_t> buffers. The API is the subset of std::vector's the
/// code uses, with the same meaning (iterators are plain pointers, invalidated by
/// any growth). It converts implicitly from std::vector<T> and explicitly to it.
template <typename T, std::size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>, "SmallVector copies elements with memcpy");
  static_assert(N > 0, "SmallVector needs some inline capacity");

 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using pointer = T*;
  using const_pointer = const T*;
  using iterator = T*;
  using const_iterator = const T*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  SmallVector() noexcept = default;
  explicit SmallVector(size_type n, const T& value = T()) { assign(n, value); }
  template <typename It, typename = typename std::iterator_traits<It>::iterator_category>
  SmallVector(It first, It last) {
    assign(first, last);
  }
  SmallVector(std::initializer_list<T> init) { assign(init.begin(), init.end()); }
  // Implicit, so that C++ callers may keep passing std::vector for shapes and axes.
  SmallVector(const std::vector<T>& v) { assign(v.begin(), v.end()); }  // NOLINT(google-explicit-constructor)

  SmallVector(const SmallVector& other) { assign(other.begin(), other.end()); }
  SmallVector(SmallVector&& other) noexcept { take(other); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  SmallVector& operator=(std::initializer_list<T> init) {
    assign(init.begin(), init.end());
    return *this;
  }
  ~SmallVector() { release(); }

  explicit operator std::vector<T>() const { return std::vector<T>(begin(), end()); }

  // ---- access
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T& operator[](size_type i) noexcept { return data_[i]; }
  const T& operator[](size_type i) const noexcept { return data_[i]; }
  T& front() noexcept { return data_[0]; }
  const T& front() const noexcept { return data_[0]; }
  T& back() noexcept { return data_[size_ - 1]; }
  const T& back() const noexcept { return data_[size_ - 1]; }

  iterator begin() noexcept { return data_; }
  iterator end() noexcept { return data_ + size_; }
  const_iterator begin() const noexcept { return data_; }
  const_iterator end() const noexcept { return data_ + size_; }
  const_iterator cbegin() const noexcept { return data_; }
  const_iterator cend() const noexcept { return data_ + size_; }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }

  size_type size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_type capacity() const noexcept { return capacity_; }
  /// True while the elements live inside the object (no heap buffer).
  bool is_inline() const noexcept { return data_ == inline_; }

  // ---- modifiers
  void reserve(size_type n) {
    if (n > capacity_) grow_to(n);
  }
  void clear() noexcept { size_ = 0; }
  void resize(size_type n, const T& value = T()) {
    reserve(n);
    std::fill(data_ + std::min(n, size_), data_ + n, value);
    size_ = n;
  }
  void assign(size_type n, const T& value) {
    size_ = 0;
    resize(n, value);
  }
  template <typename It, typename = typename std::iterator_traits<It>::iterator_category>
  void assign(It first, It last) {
    size_ = 0;
    if constexpr (std::is_base_of_v<std::forward_iterator_tag,
                                    typename std::iterator_traits<It>::iterator_category>) {
      reserve(static_cast<size_type>(std::distance(first, last)));
      for (; first != last; ++first) data_[size_++] = static_cast<T>(*first);
    } else {
      for (; first != last; ++first) push_back(static_cast<T>(*first));
    }
  }
  void assign(std::initializer_list<T> init) { assign(init.begin(), init.end()); }

  void push_back(const T& value) {
    if (size_ == capacity_) {
      const T copy = value;  // `value` may be one of our elements
      grow_to(2 * capacity_);
      data_[size_++] = copy;
    } else {
      data_[size_++] = value;
    }
  }
  template <typename... Args>
  T& emplace_back(Args&&... args) {
    push_back(T(std::forward<Args>(args)...));
    return back();
  }
  void pop_back() noexcept { --size_; }

  iterator insert(const_iterator pos, const T& value) { return insert(pos, size_type{1}, value); }
  iterator insert(const_iterator pos, size_type n, const T& value) {
    const T copy = value;
    const size_type at = open_gap(pos, n);
    std::fill(data_ + at, data_ + at + n, copy);
    return data_ + at;
  }
  template <typename It, typename = typename std::iterator_traits<It>::iterator_category>
  iterator insert(const_iterator pos, It first, It last) {
    // Copied first: the range may point into this vector, which open_gap moves.
    const SmallVector items(first, last);
    const size_type at = open_gap(pos, items.size());
    std::copy(items.begin(), items.end(), data_ + at);
    return data_ + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<T> init) {
    return insert(pos, init.begin(), init.end());
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    T* const f = data_ + (first - data_);
    std::copy(last, cend(), f);
    size_ -= static_cast<size_type>(last - first);
    return f;
  }
  void swap(SmallVector& other) noexcept {
    SmallVector tmp(std::move(other));
    other = std::move(*this);
    *this = std::move(tmp);
  }

  friend bool operator==(const SmallVector& a, const SmallVector& b) noexcept {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const SmallVector& a, const SmallVector& b) noexcept { return !(a == b); }
  friend bool operator<(const SmallVector& a, const SmallVector& b) noexcept {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void grow_to(size_type n) {
    n = std::max(n, 2 * capacity_);
    T* heap = static_cast<T*>(::operator new(n * sizeof(T)));
    if (size_ > 0) std::memcpy(heap, data_, size_ * sizeof(T));
    release();
    data_ = heap;
    capacity_ = n;
  }
  // Moves the elements from `pos` on by `n` places; returns the index of `pos`.
  size_type open_gap(const_iterator pos, size_type n) {
    const size_type at = static_cast<size_type>(pos - data_);
    reserve(size_ + n);
    std::copy_backward(data_ + at, data_ + size_, data_ + size_ + n);
    size_ += n;
    return at;
  }
  void release() noexcept {
    if (data_ != inline_) ::operator delete(data_);
  }
  // Leaves `other` empty and inline.
  void take(SmallVector& other) noexcept {
    size_ = other.size_;
    if (other.is_inline()) {
      data_ = inline_;
      capacity_ = N;
      std::memcpy(inline_, other.inline_, size_ * sizeof(T));
    } else {
      data_ = other.data_;
      capacity_ = other.capacity_;
      other.data_ = other.inline_;
      other.capacity_ = N;
    }
    other.size_ = 0;
  }

  T* data_ = inline_;
  size_type size_ = 0;
  size_type capacity_ = N;
  T inline_[N];
};

}  // namespace eigengrad
