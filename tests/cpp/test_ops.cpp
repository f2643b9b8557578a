// Tests of the ops' C++ contract (cpp/src/ops/): gradients through broadcasting and
// matmul, NumPy dtype rules, and the exception type and message of bad input.
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "helpers.h"

namespace eigengrad {
namespace {

using namespace test_util;

TEST(Broadcasting, GradientIsSummedToEachInputShape) {
  Variable x = make_var({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  Variable b = make_var({10, 20, 30}, {3}, true);
  Variable y = x + b;
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  expect_values_near(y, {11, 22, 33, 14, 25, 36});
  sum(y).backward();
  EXPECT_EQ(b.grad().shape(), Shape{3});
  expect_values_near(b.grad(), {2, 2, 2});
  expect_values_near(x.grad(), {1, 1, 1, 1, 1, 1});
}

TEST(Matmul, GradientsMatchHandFormulas) {
  // L = sum(A B): dL/dA = 1 B^T (row sums of B), dL/dB = A^T 1 (column sums of A).
  Variable A = make_var({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  Variable B = make_var({1, -1, 2, 0, -3, 4}, {3, 2}, true);
  Variable C = matmul(A, B);
  EXPECT_EQ(C.shape(), (Shape{2, 2}));
  expect_values_near(C, {-4, 11, -4, 20});
  sum(C).backward();
  expect_values_near(A.grad(), {0, 2, 1, 0, 2, 1});
  expect_values_near(B.grad(), {5, 5, 7, 7, 9, 9});
}

TEST(Matmul, VectorOperandsAreSqueezedBack) {
  Variable M = make_var({1, 2, 3, 4, 5, 6}, {2, 3});
  Variable v = make_var({1, 0, -1}, {3});
  EXPECT_EQ(matmul(M, v).shape(), Shape{2});
  EXPECT_EQ(matmul(v, v).shape(), Shape{});
  expect_values_near(matmul(M, v), {-2, -2});
}

TEST(DTypes, ScalarsAreWeakAndMixedFloatsPromote) {
  Variable x32(Tensor::from_vector({1, 2}, {2}, DType::Float32));
  Variable x64 = make_var({1, 2}, {2});
  EXPECT_EQ((x32 * 2.0).dtype(), DType::Float32);
  EXPECT_EQ((x32 + x64).dtype(), DType::Float64);
}

TEST(Sigmoid, FiniteForLargeInputs) {
  expect_values_near(sigmoid(make_var({-1000, 0, 1000}, {3})), {0.0, 0.5, 1.0});
}

TEST(Errors, BroadcastMismatchIsInvalidArgumentNamingOpAndShapes) {
  Variable x = make_var({1, 2, 3, 4, 5, 6}, {2, 3}), y = make_var({1, 2, 3, 4}, {4});
  std::string msg = message_of<std::invalid_argument>([&] { add(x, y); });
  EXPECT_TRUE(contains(msg, "add")) << msg;
  EXPECT_TRUE(contains(msg, "(2, 3)") && contains(msg, "(4,)")) << msg;
  msg = message_of<std::invalid_argument>([&] { x * y; });
  EXPECT_TRUE(contains(msg, "mul")) << msg;
}

TEST(Errors, MatmulInnerDimensionMismatchIsInvalidArgument) {
  Variable A = make_var({1, 2, 3, 4, 5, 6}, {2, 3}), B = make_var({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  std::string msg = message_of<std::invalid_argument>([&] { matmul(A, B); });
  EXPECT_TRUE(contains(msg, "matmul")) << msg;
  EXPECT_TRUE(contains(msg, "(2, 3)") && contains(msg, "(4, 2)")) << msg;
  Variable u = make_var({1, 2, 3}, {3}), v = make_var({1, 2, 3, 4}, {4});
  msg = message_of<std::invalid_argument>([&] { matmul(u, v); });
  EXPECT_TRUE(contains(msg, "matmul")) << msg;
}

TEST(Errors, AxisOutOfRangeIsAxisError) {
  static_assert(std::is_base_of_v<std::invalid_argument, AxisError>);
  Variable x = make_var({1, 2, 3, 4, 5, 6}, {2, 3});
  std::string msg = message_of<AxisError>([&] { sum(x, std::vector<std::int64_t>{2}); });
  EXPECT_TRUE(contains(msg, "sum") && contains(msg, "axis 2")) << msg;
  msg = message_of<AxisError>([&] { mean(x, std::vector<std::int64_t>{-3}); });
  EXPECT_TRUE(contains(msg, "mean")) << msg;
  msg = message_of<AxisError>([&] { softmax(x, 5); });
  EXPECT_TRUE(contains(msg, "softmax")) << msg;
}

TEST(Errors, FailedOpLeavesNoGraphBehind) {
  Variable x = make_var({1, 2, 3}, {3}, true), y = make_var({1, 2}, {2}, true);
  EXPECT_THROW(add(x, y), std::invalid_argument);
  EXPECT_EQ(x.impl().use_count(), 1);
  EXPECT_FALSE(x.grad().defined());
}

// Note [Strong zero]: where(x > 0, sqrt(x), 0) has gradient 0 at x <= 0 by default,
// PyTorch's NaN inside StrongZeroMode(false), and the default again after it.
TEST(StrongZero, BranchNotTakenHasZeroGradient) {
  auto gradient = [] {
    Variable x = make_var({-1, 0, 4}, {3}, true);
    Tensor positive = Tensor::from_vector({0, 0, 1}, {3});
    sum(where(positive, sqrt(x), scalar_like(0.0, x))).backward();
    return x.grad().data().to_vector();
  };
  EXPECT_TRUE(strong_zero_enabled());
  EXPECT_EQ(gradient(), (std::vector<double>{0, 0, 0.25}));
  {
    StrongZeroMode pytorch(false);
    std::vector<double> g = gradient();
    EXPECT_TRUE(std::isnan(g[0]) && std::isnan(g[1]));
    EXPECT_EQ(g[2], 0.25);
  }
  EXPECT_TRUE(strong_zero_enabled());
  EXPECT_EQ(gradient(), (std::vector<double>{0, 0, 0.25}));
}

TEST(StrongZero, NonzeroCotangentsStillGiveInfAndNan) {
  Variable x = make_var({0, 4}, {2}, true);
  Variable y = sqrt(x);
  y.backward(Variable(Tensor::from_vector({1, NAN}, {2})));
  std::vector<double> g = x.grad().data().to_vector();
  EXPECT_TRUE(std::isinf(g[0]));
  EXPECT_TRUE(std::isnan(g[1]));
}

}  // namespace
}  // namespace eigengrad
