// SmallVector (cpp/include/eigengrad/small_vector.h): std::vector's behaviour, inline
// up to its capacity and on the heap past it.
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <sstream>
#include <vector>

#include "eigengrad/small_vector.h"
#include "eigengrad/tensor.h"

namespace eigengrad {
namespace {

using Small = SmallVector<std::int64_t, 4>;

std::vector<std::int64_t> as_vector(const Small& v) { return std::vector<std::int64_t>(v); }

TEST(SmallVector, ConstructsLikeVector) {
  EXPECT_TRUE(Small().empty());
  EXPECT_EQ(as_vector(Small{1, 2, 3}), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(as_vector(Small(3, 7)), (std::vector<std::int64_t>{7, 7, 7}));
  EXPECT_EQ(as_vector(Small(2)), (std::vector<std::int64_t>{0, 0}));
  const long raw[] = {4, 5};  // another integer type, as from a NumPy shape
  EXPECT_EQ(as_vector(Small(std::begin(raw), std::end(raw))), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(as_vector(Small(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6})),
            (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
  std::istringstream in("8 9 10 11 12");  // single-pass iterators
  EXPECT_EQ(as_vector(Small(std::istream_iterator<std::int64_t>(in), std::istream_iterator<std::int64_t>())),
            (std::vector<std::int64_t>{8, 9, 10, 11, 12}));
}

TEST(SmallVector, StaysInlineUpToCapacityThenSpills) {
  Small v;
  for (std::int64_t i = 0; i < 4; ++i) v.push_back(i);
  EXPECT_TRUE(v.is_inline());
  EXPECT_EQ(v.capacity(), 4u);
  v.push_back(4);
  EXPECT_FALSE(v.is_inline());
  EXPECT_GE(v.capacity(), 5u);
  for (std::int64_t i = 5; i < 100; ++i) v.push_back(v[static_cast<std::size_t>(i - 1)] + 1);  // aliasing push
  ASSERT_EQ(v.size(), 100u);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], static_cast<std::int64_t>(i));
  v.resize(2);  // shrinking keeps the heap buffer and the values
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{0, 1}));
}

TEST(SmallVector, CopiesAndMovesInlineAndSpilled) {
  for (std::size_t n : {3u, 9u}) {
    Small a;
    for (std::size_t i = 0; i < n; ++i) a.push_back(static_cast<std::int64_t>(10 * i));
    const Small copy = a;
    EXPECT_EQ(copy, a);
    EXPECT_NE(copy.data(), a.data());
    Small moved = std::move(a);
    EXPECT_EQ(moved, copy);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty and usable
    EXPECT_TRUE(a.is_inline());
    a.push_back(1);
    EXPECT_EQ(as_vector(a), (std::vector<std::int64_t>{1}));
    Small assigned{5};
    assigned = copy;
    EXPECT_EQ(assigned, copy);
    Small move_assigned{1, 2, 3, 4, 5, 6};
    move_assigned = std::move(assigned);
    EXPECT_EQ(move_assigned, copy);
    move_assigned = move_assigned;  // self-assignment keeps the values
    EXPECT_EQ(move_assigned, copy);
    Small other{42};
    other.swap(move_assigned);
    EXPECT_EQ(other, copy);
    EXPECT_EQ(as_vector(move_assigned), (std::vector<std::int64_t>{42}));
  }
}

TEST(SmallVector, InsertEraseAssign) {
  Small v{1, 2, 3};
  v.insert(v.begin(), 0);
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{0, 1, 2, 3}));
  v.insert(v.begin() + 2, std::size_t{3}, 9);  // spills
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{0, 1, 9, 9, 9, 2, 3}));
  v.erase(v.begin() + 2, v.begin() + 5);
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{0, 1, 2, 3}));
  v.erase(v.begin());
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{1, 2, 3}));
  v.insert(v.end(), v.begin(), v.end());  // a range from the vector itself
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{1, 2, 3, 1, 2, 3}));
  v.insert(v.begin() + 1, {7, 8});
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{1, 7, 8, 2, 3, 1, 2, 3}));
  v.assign(std::size_t{2}, 5);
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{5, 5}));
  v.assign({4, 3, 2, 1, 0});
  EXPECT_EQ(v.front(), 4);
  EXPECT_EQ(v.back(), 0);
  v.pop_back();
  v.resize(6, -1);
  EXPECT_EQ(as_vector(v), (std::vector<std::int64_t>{4, 3, 2, 1, -1, -1}));
  EXPECT_EQ(std::vector<std::int64_t>(v.rbegin(), v.rend()), (std::vector<std::int64_t>{-1, -1, 1, 2, 3, 4}));
  v.clear();
  EXPECT_TRUE(v.empty());
}

TEST(SmallVector, Compares) {
  EXPECT_EQ((Small{1, 2}), (Small{1, 2}));
  EXPECT_NE((Small{1, 2}), (Small{1, 2, 3}));
  EXPECT_NE((Small{1, 2}), (Small{1, 3}));
  EXPECT_EQ((Small{1, 2, 3, 4, 5}), (Small{1, 2, 3, 4, 5}));  // both spilled
  EXPECT_LT((Small{1, 2}), (Small{1, 3}));
}

TEST(SmallVector, ShapeHoldsTypicalRanksInline) {
  const Shape s{2, 3, 4, 5, 6, 7};
  EXPECT_TRUE(s.is_inline());
  EXPECT_EQ(shape_str(s), "(2, 3, 4, 5, 6, 7)");
  Shape t = s;
  t.push_back(8);
  EXPECT_FALSE(t.is_inline());
  EXPECT_EQ(shape_numel(t, DType::Float32), 2 * 3 * 4 * 5 * 6 * 7 * 8);
}

}  // namespace
}  // namespace eigengrad
