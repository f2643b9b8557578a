// Tests of the fused nn ops and the optimizers through the C++ API alone
// (cpp/src/ops/nn.cpp, cpp/src/optim.cpp).
#include <cmath>
#include <stdexcept>

#include "helpers.h"

namespace eigengrad {
namespace {

using namespace test_util;

TEST(Linear, ValueAndGradients) {
  Variable x = make_var({1, 2, 3, 4}, {2, 2}, true);
  Variable W = make_var({1, 0, 0, 2, 1, 1}, {3, 2}, true);
  Variable b = make_var({0.5, -0.5, 0}, {3}, true);
  Variable y = linear(x, W, b);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  expect_values_near(y, {1.5, 3.5, 3, 3.5, 7.5, 7});
  sum(y).backward();
  expect_values_near(W.grad(), {4, 6, 4, 6, 4, 6});
  expect_values_near(b.grad(), {2, 2, 2});
  expect_values_near(x.grad(), {2, 3, 2, 3});
}

TEST(Linear, BadShapesThrowInvalidArgument) {
  std::string msg = message_of<std::invalid_argument>(
      [] { linear(make_var({1, 2, 3}, {1, 3}), make_var({1, 2}, {1, 2})); });
  EXPECT_TRUE(contains(msg, "linear: expected x (..., in)")) << msg;
}

TEST(CrossEntropy, StableAtLargeLogitsWithSoftmaxGradient) {
  Variable x = make_var({1000, -1000, 0, 0}, {2, 2}, true);
  Variable loss = cross_entropy(x, {1, 0}, Reduction::Sum);
  EXPECT_NEAR(loss.item(), 2000 + std::log(2.0), 1e-9);
  loss.backward();
  expect_values_near(x.grad(), {1, -1, -0.5, 0.5});
}

TEST(CrossEntropy, LabelOutOfRangeThrows) {
  std::string msg = message_of<std::invalid_argument>(
      [] { cross_entropy(make_var({0, 0, 0}, {1, 3}), {3}); });
  EXPECT_TRUE(contains(msg, "cross_entropy: label 3 (at index 0) is out of range")) << msg;
  EXPECT_THROW(parse_reduction("avg", "mse_loss"), std::invalid_argument);
}

TEST(Optim, SgdWithMomentumUpdatesInPlace) {
  Variable p = make_var({1, 2}, {2}, true);
  const double* buffer = p.data().data_as<double>();
  optim::SGD sgd({p}, optim::SGDOptions{0.1, 0.9});
  for (int step = 0; step < 2; ++step) {
    p.set_grad(make_var({1, 1}, {2}));
    sgd.step();
  }
  // b1 = 1, p = p - 0.1; b2 = 0.9 + 1 = 1.9, p = p - 0.19.
  expect_values_near(p, {0.71, 1.71});
  EXPECT_EQ(p.data().data_as<double>(), buffer);
  sgd.zero_grad();
  EXPECT_FALSE(p.grad().defined());
  sgd.step();  // no gradient: skipped
  expect_values_near(p, {0.71, 1.71});
}

TEST(Optim, AdamFirstStepIsLrTimesSign) {
  Variable p = make_var({0, 0, 0}, {3}, true);
  optim::AdamOptions options;
  options.lr = 0.01;
  optim::Adam adam({p}, options);
  p.set_grad(make_var({2, -3, 0}, {3}));
  adam.step();
  // m / (1 - b1) = g and sqrt(v / (1 - b2)) = |g|: the step is lr g / (|g| + eps).
  expect_values_near(p, {-0.01, 0.01, 0}, 1e-9);
  EXPECT_EQ(adam.step_count(0), 1);
}

TEST(Optim, BadOptionsAndParametersThrow) {
  Variable p = make_var({1}, {1}, true);
  EXPECT_THROW(optim::SGD({p}, optim::SGDOptions{-1.0}), std::invalid_argument);
  EXPECT_THROW(optim::SGD({p, p}, optim::SGDOptions{0.1}), std::invalid_argument);
  EXPECT_THROW(optim::SGD({p * 2.0}, optim::SGDOptions{0.1}), std::invalid_argument);
  optim::AdamOptions bad;
  bad.beta2 = 1.0;
  EXPECT_THROW(optim::Adam({p}, bad), std::invalid_argument);
}

}  // namespace
}  // namespace eigengrad
