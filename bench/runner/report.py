"""The Markdown report (RESULTS.md) from the passes' results: machine and versions,
thread settings and their check, the summary of the targets, then one section per
workload group (overhead, MLP, GEMM, Jacobian, HVP, chain) with a table per pass."""

from .alignment import OFFSET
from .report_format import f_ratio, f_time, met, pass_label, table
from .targets import CHAIN_TARGET, GEMM_TARGET, MLP_TARGETS, OVERHEAD_TARGET, jacobian_target, ratios, targets


def report(passes, png_name):
    """RESULTS.md's text; passes[0] is the one-thread pass, png_name the chart's path
    relative to RESULTS.md."""
    lines = intro_section(passes, png_name)
    lines += machine_section(passes[0]["meta"])
    lines += threads_section(passes)
    lines += summary_section(passes)
    lines += overhead_section(passes)
    lines += mlp_section(passes)
    lines += gemm_section(passes)
    lines += jacobian_section(passes, "jacobian")
    lines += jacobian_section(passes, "hvp")
    lines += chain_section(passes)
    return "\n".join(lines) + "\n"


def intro_section(passes, png_name):
    one = passes[0]
    m = one["meta"]
    lines = ["# eigengrad benchmark results", ""]
    minutes = sum(p["seconds"] for p in passes) / 60
    lines += [f"Written by `python bench/run.py{' --quick' if one['quick'] else ''}` on {m['date']} "
              f"(the passes took {minutes:.1f} min of measuring). Every time is a median over "
              f"{3 if one['quick'] else 5} or more repeats after a warm-up, all libraries in the "
              "same process. **ratio = eigengrad's time / the peer's time**: below 1 eigengrad "
              "is faster. The targets apply to the one-thread ratios; the all-threads "
              f"ratios are beside them. Chart: [{png_name}]({png_name}).", ""]
    if one["quick"]:
        lines += ["**Smoke run (`--quick`): small sizes and short repeats; these numbers are "
                  "not the benchmark.**", ""]
    return lines


def machine_section(m):
    jax_text = (f"{m['jax']} (jaxlib {m.get('jaxlib')}, devices {', '.join(m.get('jax_devices', []))}), "
                "float64 enabled (`jax_enable_x64`)" if m["jax"] else
                f"not installed: no JAX rows ({m['jax_error']})")
    return ["## Machine and versions", "", table(["", ""], [
        ("CPU", f"{m['cpu']}, {m['cores']} cores ({m['arch']}; {m['simd']})"),
        ("OS", f"{m['os']} ({m['libc']})"),
        ("Python", m["python"]),
        ("NumPy", f"{m['numpy']}; BLAS: {m['blas']}"),
        ("eigengrad", f"{m['eigengrad']} (the installed build of {m.get('eigengrad_built', '?')}, imported from "
                      f"`{m['eigengrad_file']}`; the repo's HEAD was {m['git']})"),
        ("PyTorch", m["torch"] or "not installed: no PyTorch rows"),
        ("JAX", jax_text),
        ("date", m["date"]),
    ]), ""]


def threads_section(passes):
    """The settings of each pass, the CPU time / wall time check that they took, and the
    other processes' load during each group."""
    one = passes[0]
    lines = ["## Threads", "", "Each pass is a subprocess of its own, with its thread "
             "settings made before NumPy, PyTorch and JAX are imported.", ""]
    rows = []
    for p in passes:
        pm = p["meta"]
        env = ", ".join(f"{k}={v}" for k, v in pm["env"].items() if k != "XLA_FLAGS" and v is not None)
        xla = f"`XLA_FLAGS=\"{pm['env']['XLA_FLAGS']}\"`" if pm["env"]["XLA_FLAGS"] else "XLA_FLAGS unset (XLA's default: all cores)"
        cpus = (f"CPU {p['pinned_cpu']} only (sched_setaffinity)" if p.get("pinned_cpu") is not None
                else f"all {pm['cores']}")
        rows.append((pass_label(p), cpus, f"eg.set_num_threads({p['threads']}) -> {pm['eg_threads']}",
                     f"torch.set_num_threads({p['threads']}) -> {pm['torch_threads']}" if pm["torch"] else "-",
                     env, xla if pm["jax"] else "-", f"{p['seconds']:.0f} s"))
    lines += [table(["pass", "CPUs", "eigengrad", "PyTorch", "environment (NumPy's BLAS, OpenMP)", "JAX", "pass time"], rows), "",
              "The one-thread pass is also pinned to one CPU: with the XLA_FLAGS above alone, "
              "jaxlib 0.10.2 still ran its GEMMs on both cores (CPU/wall 1.97 for n = 2048 in a "
              "first run of this runner; XLA sizes its thread pool from the affinity mask). "
              "The other libraries are single-threaded by their own settings either way "
              "(the check below).", ""]
    libs = ["eigengrad", "numpy", "torch", "jax"]
    n_max = one["sizes"]["gemm"][-1]
    cells = [f"gemm float32 {n_max}", f"gemm float64 {n_max}", "mlp 1024", "jacobian " + str(one["sizes"]["jacobian"][-1])]
    rows = [(pass_label(p), cell, *(f"{p['usage'].get(cell, {})[lib]:.2f}" if lib in p["usage"].get(cell, {}) else "-"
                                    for lib in libs)) for p in passes for cell in cells]
    lines += ["Check that the settings took: process CPU time / wall time while each library's "
              "cell was timed (warm-up and JIT compilation included): 1.00 is one busy core, "
              f"{one['meta']['cores']}.00 all of them.", "",
              table(["pass", "cell", *libs], rows), ""]
    groups = list(one.get("other_load", {}))
    rows = [(pass_label(p), *("-" if p["other_load"].get(g) is None else f"{p['other_load'][g]:.2f}"
                              for g in groups)) for p in passes]
    lines += ["Other processes on the machine while each group ran (mean cores they kept busy, "
              "from /proc/stat less this process; anything well above 0 makes the times noisy, "
              "the all-threads ones most).", "", table(["pass", *groups], rows), ""]
    return lines


def summary_section(passes):
    """The targets, each with the one-thread ratio and verdict and the other passes' ratios."""
    one = passes[0]
    rs = [ratios(p) for p in passes]
    rows = []
    for key, label, target in targets(one["sizes"]):
        cells = [rs[i].get(key) for i in range(len(passes))]
        one_ratio = cells[0][0] if cells[0] else None
        detail = f" ({cells[0][1]})" if cells[0] and cells[0][1] else ""
        digits = 3 if one_ratio is not None and abs(one_ratio / target - 1) < 0.01 else 2
        rows.append((label, f"<= {target:g}", "-" if one_ratio is None else f"{one_ratio:.{digits}f}{detail}",
                     met(one_ratio, target),
                     *(("-" if c is None else f"{c[0]:.2f}" + (f" ({c[1]})" if c[1] else "")) for c in cells[1:])))
    return ["## Summary: the targets", "",
            "ratio = eigengrad / peer; the detail tables below give the times.",
            "", table(["workload", "target", "1 thread", "met?", *(pass_label(p) for p in passes[1:])], rows), ""]


def overhead_section(passes):
    out = ["## Per-op overhead", "",
           f"dtype {passes[0]['overhead']['dtype']}; microseconds per call, the Python loop and a closure "
           "call included. fwd: inputs without requires_grad (no graph); fwd+bwd: leaves with "
           "requires_grad, the output reduced with .sum() unless a scalar, .backward(), the "
           "leaves' .grad reset each call. Target for tiny tensors (1x1, 4x4): fwd+bwd "
           f"<= {OVERHEAD_TARGET}x PyTorch; 256x256 rows have none (the kernels dominate).", ""]
    for k, p in enumerate(passes):
        rows = []
        for row in p["overhead"]["rows"]:
            tiny = row["size"] in ("1x1", "4x4")
            r = row["eg_b"] / row["th_b"] if row["th_b"] else None
            cells = [row["op"], row["size"], f_time(row["np"]), f_time(row["eg"]), f_time(row["th"]),
                     f_ratio(row["eg"], row["th"]), f_time(row["eg_b"]), f_time(row["th_b"]),
                     "-" if r is None else f"{r:.2f}"]
            if k == 0:
                cells += [f"<= {OVERHEAD_TARGET}" if tiny else "-", met(r, OVERHEAD_TARGET) if tiny else "-"]
            rows.append(cells)
        head = ["op", "size", "numpy fwd", "eg fwd", "torch fwd", "ratio fwd", "eg fwd+bwd",
                "torch fwd+bwd", "ratio fwd+bwd"] + (["target", "met?"] if k == 0 else [])
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def mlp_section(passes):
    out = ["## MLP train step", "",
           f"dtype {passes[0]['mlp']['dtype']}; microseconds per step = zero_grad + forward + "
           "softmax cross-entropy + backward + SGD (lr 0.01, momentum 0.9). eigengrad: eg.nn.MLP, "
           "eg.nn.cross_entropy, eg.optim.SGD; torch: nn.Sequential, F.cross_entropy, optim.SGD "
           "(eager); numpy: the forward and backward written by hand; jax: value_and_grad and the "
           "momentum update in one jax.jit (parameters donated), blocking on the result each step. "
           "agreement: the largest difference in first-layer weights after 3 steps from the same "
           "start, relative to their scale.", ""]
    for k, p in enumerate(passes):
        rows = []
        for row in p["mlp"]["rows"]:
            us = row["us"]
            t = MLP_TARGETS.get(row["net"], {})
            cells = [row["net"], row["batch"], *(f_time(us.get(lib)) for lib in ("eigengrad", "torch", "jax", "numpy")),
                     f_ratio(us["eigengrad"], us.get("torch")), f_ratio(us["eigengrad"], us.get("jax")),
                     f_ratio(us["eigengrad"], us["numpy"])]
            if k == 0:
                goal = " / ".join(f"{v:g} vs {lib}" for lib, v in t.items()) or "-"
                verdicts = [met(us["eigengrad"] / us[lib], v) if lib in us else "-" for lib, v in t.items()]
                cells += [goal, " / ".join(verdicts) or "-"]
            cells.append(f"{row['agreement']:.0e}")
            rows.append(cells)
        head = ["network", "batch", "eigengrad us", "torch us", "jax jit us", "numpy us", "eg / torch",
                "eg / jax", "eg / numpy"] + (["target", "met?"] if k == 0 else []) + ["agreement"]
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def gemm_section(passes):
    out = ["## GEMM", "",
           "milliseconds per n x n product C = A @ B (a new output each call): eg.matmul on "
           "Variables without requires_grad (Eigen), NumPy's `@` (its BLAS), torch.matmul, "
           f"jax.jit(jnp.matmul). Target: eigengrad within {GEMM_TARGET}x of NumPy. err: the largest "
           "|C - C64| / max|C64| against a float64 product.", ""]
    for k, p in enumerate(passes):
        rows = []
        for row in p["gemm"]["rows"]:
            ms = row["ms"]
            r = ms["eigengrad"] / ms["numpy"]
            gflops = 2 * row["n"] ** 3 / (ms["eigengrad"] * 1e-3) / 1e9
            cells = [row["dtype"], row["n"], *(f_time(ms.get(lib)) for lib in ("eigengrad", "numpy", "torch", "jax")),
                     f"{gflops:.0f}", f"{r:.2f}", f_ratio(ms["eigengrad"], ms.get("torch")),
                     f_ratio(ms["eigengrad"], ms.get("jax"))]
            if k == 0:
                cells += [f"<= {GEMM_TARGET}", met(r, GEMM_TARGET)]
            cells.append(f"{row['rel_err']['eigengrad']:.0e}")
            rows.append(cells)
        head = ["dtype", "n", "eigengrad ms", "numpy ms", "torch ms", "jax ms", "eg GFLOP/s",
                "eg / numpy", "eg / torch", "eg / jax"] + (["target", "met?"] if k == 0 else []) + ["eg err"]
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def jacobian_section(passes, key):
    if key == "jacobian":
        out = ["## Jacobian", "",
               f"dtype {passes[0][key]['dtype']}; milliseconds per full Jacobian of f(x) = tanh(W2 tanh(W1 x)), "
               "W1, W2 n x n. eg.jacobian's default mode is \"auto\" (which picks reverse mode "
               "for a square Jacobian); the target row is the default. Each result is checked "
               "against the analytic one (max abs error shown) before timing.", ""]
        peer, eg_row = "torch.func.jacrev", 'eg.jacobian mode="auto"'
    else:
        out = ["## Hessian-vector product", "",
               f"dtype {passes[0][key]['dtype']}; milliseconds per H(x) v for g(x) = sum(tanh(W x)^2) "
               "+ 0.5 |x|^2 without forming H. Checked against the analytic H v before timing. "
               f"W, x and v start {OFFSET} bytes past a 64-byte boundary, as a fresh large NumPy "
               "array does (the Jacobian's inputs too); the row \"inputs 64-byte aligned\" "
               "repeats eg.hvp on aligned copies, because eigengrad's speed depends on it "
               "(the other libraries' hardly does).", ""]
        peer, eg_row = "torch double backward", "eg.hvp"
    for k, p in enumerate(passes):
        rows = []
        for i, group in enumerate(p[key]["groups"]):
            ms = {row["name"]: row["ms"] for row in group["rows"]}
            target = jacobian_target(key, i)
            for row in group["rows"]:
                name = row["name"] + (" (default)" if row["name"] == eg_row and key == "jacobian" else "")
                cells = [group["n"], name, f_time(row["ms"]),
                         f_ratio(ms[eg_row], row["ms"]) if row["name"] != eg_row else "1.00"]
                if k == 0:
                    is_target = row["name"] == peer and target is not None
                    r = ms[eg_row] / row["ms"] if is_target else None
                    cells += [f"<= {target:g}" if is_target else "", met(r, target) if is_target else ""]
                cells.append(f"{row['err']:.0e}")
                rows.append(cells)
        head = ["n", "contender", "ms", f"{eg_row} / this"] + (["target", "met?"] if k == 0 else []) + ["max abs err"]
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def chain_section(passes):
    c = passes[0]["chain"]
    out = ["## Long chain", "",
           f"dtype {c['dtype']}; milliseconds to build y = y * 1.0 {c['length']:,} times from a "
           "1-element leaf and call y.backward() (graph recording and backward traversal; the "
           "graph is freed in the timed call). numpy: the same chain with a hand-written tape. "
           f"JAX has no row: its eager mode is not what one would time here and tracing {c['length']:,} "
           f"ops for jit is a compile-time benchmark. Target: <= {CHAIN_TARGET}x PyTorch.", ""]
    rows = []
    for p in passes:
        ms, calls = p["chain"]["ms"], p["chain"].get("calls_ms", {})
        r = ms["eigengrad"] / ms["torch"] if "torch" in ms else None

        def cell(lib):
            if lib not in ms:
                return "-"
            spread = f" ({min(calls[lib]):.0f}-{max(calls[lib]):.0f})" if lib in calls else ""
            return f_time(ms[lib]) + spread
        rows.append((pass_label(p), *(cell(lib) for lib in ("eigengrad", "torch", "numpy")),
                     "-" if r is None else f"{r:.2f}", f_ratio(ms["eigengrad"], ms["numpy"]),
                     met(r, CHAIN_TARGET) if p["threads"] == 1 else ""))
    n_calls = len(next(iter(passes[0]["chain"].get("calls_ms", {"": [0] * 5}).values())))
    out += [f"Median of {n_calls} calls after a warm-up call, the fastest and slowest in brackets.", "",
            table(["pass", "eigengrad ms", "torch ms", "numpy ms", "eg / torch", "eg / numpy", "met? (1 thread)"], rows), ""]
    return out
