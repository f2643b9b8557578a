// NumPy memory that eigengrad borrows, and eigengrad buffers that NumPy views
// (Note [Borrowed memory]).
#include "borrow.h"

#include <mutex>
#include <unordered_map>

namespace eigengrad::python {

namespace {

// Note [Borrowed memory]
// A float NumPy array is borrowed, not copied. Everything eigengrad knows about the
// memory it borrows lives in two tables, keyed by Python object and looked up once
// per conversion (O(1)):
//  - per array object, one ArrayLender: it keeps the array alive for the storages
//    borrowing it and counts the backward rules that hold its values (Lender in
//    tensor.h), however many times the array was converted;
//  - per memory owner (the object at the root of the array's base chain: the
//    ndarray that owns the data, another buffer object, or an eigengrad buffer when
//    the array is a view of one), one version counter, shared by every storage over
//    that memory: two conversions of one array, two views of it, np.asarray(v) of
//    a Variable passed back in. An in-place write through any of them is then seen
//    by a graph that read any other (Note [Version counter] in cpp/src/node.cpp).
// Entries are erased when their lender or counter goes, which may happen without
// the GIL (at the end of a backward), hence the mutex. An entry's key stays alive as
// long as the entry (the lender owns the array, which owns its base chain).

class ArrayLender;

struct BorrowTables {
  std::mutex mutex;
  std::unordered_map<PyObject*, std::weak_ptr<ArrayLender>> lenders;     // by array object
  std::unordered_map<PyObject*, std::weak_ptr<VersionCounter>> versions;  // by memory owner
};

BorrowTables& borrow_tables() {
  static auto* tables = new BorrowTables();  // leaked: used until the last buffer goes
  return *tables;
}

/// Erases `key` from `table` unless another thread has put a live entry there since.
template <class Table>
void erase_expired(Table& table, PyObject* key) {
  std::lock_guard<std::mutex> lock(borrow_tables().mutex);
  auto it = table.find(key);
  if (it != table.end() && it->second.expired()) table.erase(it);
}

/// Keeps a NumPy array alive for as long as a Storage borrows its memory, and makes
/// it read-only while a backward rule keeps its values (see Lender in tensor.h and
/// Note [Saved values] in node.cpp). One per array object (Note [Borrowed
/// memory]). The last reference may be dropped without the GIL (during backward),
/// so the destructor takes it. Holds are taken and released without the GIL (a
/// backward on another thread would otherwise wait for it): the count lives under a
/// C++ mutex, and the array's WRITEABLE flag is flipped with an atomic bit operation
/// on NumPy's flags field, which is what NumPy's own setter does for read-only.
class ArrayLender final : public Lender {
 public:
  ArrayLender(py::object array, std::shared_ptr<VersionCounter> version)
      : array_(array.release().ptr()), version_(std::move(version)) {}
  ~ArrayLender() override {
    erase_expired(borrow_tables().lenders, array_);
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    Py_DECREF(array_);
  }
  ArrayLender(const ArrayLender&) = delete;
  ArrayLender& operator=(const ArrayLender&) = delete;

  void hold() noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (holds_++ == 0) cleared_ = __atomic_fetch_and(flags(), ~kWriteable, __ATOMIC_RELAXED) & kWriteable;
  }
  void release() noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (holds_ == 0 || --holds_ > 0) return;
    if (cleared_) __atomic_fetch_or(flags(), kWriteable, __ATOMIC_RELAXED);
  }
  const std::shared_ptr<VersionCounter>& version() const { return version_; }

 private:
  static constexpr int kWriteable = py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  int* flags() const { return &py::detail::array_proxy(array_)->flags; }

  PyObject* array_;
  std::shared_ptr<VersionCounter> version_;
  std::mutex mutex_;
  long holds_ = 0;
  bool cleared_ = false;  // whether the first hold cleared the WRITEABLE flag
};

/// The version counter shared by every storage over `array`'s memory (Note
/// [Borrowed memory]): the counter of the eigengrad buffer it views, or the one of
/// the object at the root of its base chain. Call with the GIL held.
std::shared_ptr<VersionCounter> memory_version(PyObject* array) {
  PyObject* owner = array;
  for (;;) {
    PyObject* base = py::detail::array_proxy(owner)->base;
    if (!base) break;
    if (std::shared_ptr<Storage> storage = capsule_storage(base)) return Storage::shared_counter(storage);
    owner = base;
    if (!py::detail::npy_api::get().PyArray_Check_(base)) break;
  }
  BorrowTables& tables = borrow_tables();
  std::lock_guard<std::mutex> lock(tables.mutex);
  std::weak_ptr<VersionCounter>& entry = tables.versions[owner];
  if (std::shared_ptr<VersionCounter> version = entry.lock()) return version;
  std::shared_ptr<VersionCounter> version(new VersionCounter(0), [owner](VersionCounter* p) {
    erase_expired(borrow_tables().versions, owner);
    delete p;
  });
  entry = version;
  return version;
}

/// The one lender of `array` (made on first use). Call with the GIL held.
std::shared_ptr<ArrayLender> lender_of(const py::array& array) {
  PyObject* key = array.ptr();
  BorrowTables& tables = borrow_tables();
  {
    std::lock_guard<std::mutex> lock(tables.mutex);
    auto it = tables.lenders.find(key);
    if (it != tables.lenders.end())
      if (std::shared_ptr<ArrayLender> lender = it->second.lock()) return lender;
  }
  auto lender = std::make_shared<ArrayLender>(py::reinterpret_borrow<py::object>(array), memory_version(key));
  std::lock_guard<std::mutex> lock(tables.mutex);
  tables.lenders[key] = lender;
  return lender;
}

}  // namespace

std::shared_ptr<Storage> capsule_storage(PyObject* base) {
  if (!base || !PyCapsule_IsValid(base, kStorageCapsule)) return nullptr;
  auto* storage = static_cast<std::shared_ptr<Storage>*>(PyCapsule_GetPointer(base, kStorageCapsule));
  return storage ? *storage : nullptr;
}


std::shared_ptr<void> keep_alive(py::object array) {
  PyObject* ptr = array.release().ptr();
  return std::shared_ptr<void>(ptr, [](void* p) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    Py_DECREF(static_cast<PyObject*>(p));
  });
}

std::shared_ptr<Storage> own_storage(const py::array& arr, std::size_t nbytes) {
  std::shared_ptr<Storage> storage = capsule_storage(py::detail::array_proxy(arr.ptr())->base);
  if (!storage || storage->data() != arr.data() || storage->nbytes() < nbytes) return nullptr;
  return storage;
}

std::shared_ptr<Storage> borrowed_storage(const py::array& arr, void* data, std::size_t nbytes) {
  std::shared_ptr<ArrayLender> lender = lender_of(arr);
  Lender* raw = lender.get();
  std::shared_ptr<VersionCounter> version = lender->version();
  return std::make_shared<Storage>(data, nbytes, std::move(lender), raw, std::move(version));
}

}  // namespace eigengrad::python
