// The reverse-mode engine: discover the graph, count dependencies, run each node
// once all of its consumers have sent their cotangents. No recursion anywhere.
#include "eigengrad/engine.h"

#include <unordered_map>
#include <unordered_set>

#include "eigengrad/ops.h"

namespace eigengrad {

namespace {

/// The cotangent a root output starts with: `grad` checked against the output, or 1.
Variable seed_for(const Variable& output, const Variable& grad) {
  if (!grad.defined()) {
    if (output.numel() != 1)
      throw std::runtime_error(
          "backward: grad can be implicitly created only for single-element outputs; the "
          "output has shape " + shape_str(output.shape()) + ", so pass grad= of that shape");
    return Variable(Tensor::full(output.shape(), 1.0, output.dtype()));
  }
  if (grad.shape() != output.shape())
    throw std::invalid_argument("backward: grad has shape " + shape_str(grad.shape()) +
                                " but the output has shape " + shape_str(output.shape()));
  return grad.dtype() == output.dtype() ? grad : astype(grad, output.dtype());
}

/// Nodes reachable from `roots`, children before parents (iterative post-order DFS).
std::vector<Node*> post_order(const std::vector<Node*>& roots) {
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, std::size_t>> stack;
  for (Node* root : roots) {
    if (!seen.insert(root).second) continue;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, i] = stack.back();
      if (i < node->next().size()) {
        Node* child = node->next()[i++].get();
        if (child && seen.insert(child).second) stack.emplace_back(child, 0);
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

/// One run of the engine. `targets` (for grad()) maps nodes to the indices of the
/// inputs whose cotangent they receive; empty means backward() into leaves.
class GraphTask {
 public:
  GraphTask(const std::vector<Variable>& outputs, const std::vector<Variable>& grad_outputs,
            bool retain_graph, bool create_graph)
      : retain_graph_(retain_graph), create_graph_(create_graph) {
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
      throw std::invalid_argument("backward: " + std::to_string(grad_outputs.size()) +
                                  " grad_outputs for " + std::to_string(outputs.size()) + " outputs");
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      std::shared_ptr<Node> node = outputs[i].gradient_edge();
      if (!node)
        throw std::runtime_error("backward: output " + std::to_string(i) +
                                 " does not require grad and has no grad_fn");
      Variable seed = seed_for(outputs[i], grad_outputs.empty() ? Variable() : grad_outputs[i]);
      add_to(buffers_[node.get()], seed);
      roots_.push_back(node.get());
    }
  }

  void add_target(Node* node, std::size_t index) { targets_[node].push_back(index); }

  /// Runs the graph; returns the cotangent of every target index.
  std::vector<Variable> run(std::size_t n_targets) {
    std::vector<Node*> order = post_order(roots_);
    std::unordered_set<Node*> needed;
    for (Node* node : order) {  // children first, so `needed` of children is known
      bool need = targets_.empty() || targets_.count(node);
      for (const auto& child : node->next()) need = need || (child && needed.count(child.get()));
      if (need) needed.insert(node);
    }
    std::unordered_map<Node*, int> deps;
    for (Node* node : needed)
      for (const auto& child : node->next())
        if (child && needed.count(child.get())) ++deps[child.get()];

    std::vector<Variable> captured(n_targets);
    std::vector<Node*> ready;
    for (Node* root : roots_)
      if (needed.count(root) && deps[root] == 0 && (ready.empty() || !contains(ready, root)))
        ready.push_back(root);

    GradMode mode(create_graph_);
    std::vector<bool> needs;
    while (!ready.empty()) {
      Node* node = ready.back();
      ready.pop_back();
      Variable gout = std::move(buffers_[node]);
      buffers_.erase(node);
      if (auto it = targets_.find(node); it != targets_.end())
        for (std::size_t index : it->second) captured[index] = gout;

      std::vector<Variable> grads;
      bool skip_apply = !gout.defined() || (!targets_.empty() && dynamic_cast<AccumulateGrad*>(node));
      needs.assign(node->next().size(), false);
      for (std::size_t i = 0; i < needs.size(); ++i)
        needs[i] = node->next()[i] && needed.count(node->next()[i].get());
      if (!skip_apply) {
        grads = node->apply(gout, needs, retain_graph_);
        if (!dynamic_cast<AccumulateGrad*>(node) && grads.size() != needs.size())
          throw InternalError(std::string(node->name()) + ": backward rule returned " +
                              std::to_string(grads.size()) + " gradients for " +
                              std::to_string(needs.size()) + " inputs");
      }
      for (std::size_t i = 0; i < needs.size(); ++i) {
        if (!needs[i]) continue;
        Node* child = node->next()[i].get();
        if (i < grads.size() && grads[i].defined()) add_to(buffers_[child], grads[i]);
        if (--deps[child] == 0) ready.push_back(child);
      }
    }
    return captured;
  }

 private:
  static bool contains(const std::vector<Node*>& v, Node* n) {
    for (Node* m : v)
      if (m == n) return true;
    return false;
  }
  static void add_to(Variable& slot, const Variable& g) { slot = slot.defined() ? add(slot, g) : g; }

  bool retain_graph_;
  bool create_graph_;
  std::vector<Node*> roots_;
  std::unordered_map<Node*, Variable> buffers_;
  std::unordered_map<Node*, std::vector<std::size_t>> targets_;
};

}  // namespace

void backward(const std::vector<Variable>& outputs, const std::vector<Variable>& grad_outputs,
              bool retain_graph, bool create_graph) {
  GraphTask task(outputs, grad_outputs, retain_graph, create_graph);
  task.run(0);
}

std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           const std::vector<Variable>& grad_outputs, bool retain_graph,
                           bool create_graph, bool allow_unused) {
  GraphTask task(outputs, grad_outputs, retain_graph, create_graph);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::shared_ptr<Node> node = inputs[i].requires_grad() ? inputs[i].gradient_edge() : nullptr;
    if (!node)
      throw std::runtime_error("grad: input " + std::to_string(i) + " does not require grad");
    task.add_target(node.get(), i);
  }
  std::vector<Variable> grads = task.run(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!grads[i].defined()) {
      if (!allow_unused)
        throw std::runtime_error("grad: input " + std::to_string(i) +
                                 " was not used to compute the outputs (pass allow_unused=True "
                                 "to get None for it)");
      continue;
    }
    // Without create_graph every gradient gets a buffer of its own (two inputs may
    // have received the very same cotangent).
    if (!create_graph) grads[i] = Variable(grads[i].data().clone());
  }
  return grads;
}

}  // namespace eigengrad
