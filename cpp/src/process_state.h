// The process-wide and per-thread state of eigengrad, listed in one place.
//
// Everything else is a value: a Tensor, a Variable, a Node and what they own. The
// state below is shared by every graph of a process (or of a thread), so it is what
// to think about when two threads, a fork, an embedding or a test meets eigengrad.
// This header declares nothing; each entry names where the state lives and why it
// exists. A new piece of global state is added here, or not at all.
//
// Per process
//  - Live counters (counters.h; the blocks and their registry in tensor.cpp): graph
//    nodes, owned and borrowed buffers, allocations ever made. Why: the lifetime tests
//    and the reliability report prove that graphs are freed. Each thread counts into
//    a block of its own (plain stores); a block is reused after its thread ends, so
//    their number is the most threads alive at once.
//  - Allocation fault injector (allocations_until_failure, allocator.cpp): disarmed
//    (-1) unless a test arms it through eigengrad._core._testing. Why: to prove that
//    every allocation failure surfaces as MemoryError and leaves no broken graph.
//  - The cache of freed large buffers and the byte counters (cache, bytes_in_use,
//    peak_in_use, allocator.cpp; Note [Caching allocator] in allocator.h): one mutex
//    guards the cache, the counters are atomics; the bound comes from
//    EIGENGRAD_ALLOC_CACHE or eg.set_memory_cache_limit. Why: fresh large buffers
//    cost page faults; eg.memory_stats. The machine's memory size (kMemoryLimit) is
//    read once at load. A fork while another thread is inside the allocator leaves
//    the child's cache mutex locked (as for the other mutexes listed here).
//  - Interrupt check (interrupt_check, engine.cpp), installed by the bindings
//    (check_signals and last_signal_check, python/src/bind_state.cpp). Why: Ctrl-C
//    stops a long backward pass; the C++ engine knows no Python.
//  - Lock stripes (lock_stripes.h): 64 spin locks chosen by address. Why: a leaf's
//    .grad and a node's run state are shared between threads (Note [Threads]),
//    without a mutex in every object.
//  - Thread count (thread_count, threads.cpp) and Eigen's own thread setting (kept
//    at 1, kernels/gemm.cpp). Why: eg.set_num_threads; Eigen's parallel products
//    were slower than our row split (the note in gemm.cpp).
//  - Forward-level ids (next_level_id, forward_levels.cpp). Why: every ForwardLevel
//    of every thread has a distinct id, so tangents of different levels never mix.
//  - Hook ids (Node::add_hook, node.cpp). Why: a hook handle removes its own hook.
//  - Strong zero (strong_zero_on, ops/binary.cpp): on unless set_strong_zero(false)
//    (eg.set_strong_zero, eg.strong_zero). Why: PyTorch's 0 * inf = NaN in the rules
//    stays available (Note [Strong zero] in kernels/strong_zero.h); an atomic read
//    when a rule runs, so a change applies to the next backward or tangent.
//  - Saved-reads test mode (check_reads, node.cpp). Why: a test compares the op
//    table with what each rule captures; off otherwise.
//  - The op tables (op_names and saved_reads, ops/ops.cpp): constant after first use.
//  - Interned op names of custom functions (intern, python/src/bind_autograd.cpp). Why:
//    a Node keeps a const char* name that must outlive it; one copy per name.
//  - Borrowed NumPy arrays (borrow_tables, python/src/borrow.cpp): one entry per
//    array object lent to eigengrad. Why: one version counter per memory (every
//    Variable over the same array sees the same version), and read-only protection
//    while a backward rule keeps the values.
//  - eg.random's generator (python/eigengrad/random.py). Why: seedable
//    initialisation, dropout and samples, like torch.manual_seed.
//
// Per thread
//  - Grad mode (tls_grad_enabled, variable.cpp): eg.no_grad and friends.
//  - Open forward levels (tls_levels, tls_level_nodes, tls_visible,
//    forward_levels.cpp): the stack of Note [Forward levels].
//  - The innermost read recorder (tls_read_recorder, ops/record.cpp): eg.checkpoint
//    learns which Variables requiring grad a function read under no_grad (Note
//    [Read recorder]); null unless a checkpoint's forward is running.
//  - The active gradient monitor (tls_monitor, monitor.cpp): eg.grad_monitor's
//    collector, which the engine and record() report to; null unless a monitor is
//    entered on this thread (one load per op and per backward pass when off).
//  - The counter block (tls_block, tensor.cpp) and the saved-reads lookup cache
//    (ops/ops.cpp).
//  - The op named in MemoryErrors (tls_op, tls_backward, allocator.cpp): set by
//    AllocationLabel scopes (the bindings' op calls, the engine's backward rules).
//  - Spare pass tables (ScratchLease::spare_, engine.cpp; Note [Pass scratch]): the
//    emptied tables of earlier backward passes, reused so that a small backward
//    allocates no bookkeeping; tables grown past 4,096 nodes are freed instead.
//  - Cached weak-scalar constants (constant_cache, python/src/convert.cpp; Note
//    [Weak scalar constants]): the 0-d constants made last for Python numbers,
//    16 slots. Why: `x * 2.0` then allocates nothing for the 2.0. The leak checks
//    drop them (_testing.live_buffers).
#pragma once
