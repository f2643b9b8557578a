"""What a run measures and what it should achieve: the problem sizes, the targets
(eigengrad / peer, one thread), and the ratios a pass scores against them."""

import math


def problem_sizes(quick):
    """The problem sizes of a full run, or the smaller ones of a smoke run."""
    return {"gemm": [128, 256] if quick else [256, 512, 1024, 2048],
            "jacobian": [10, 100] if quick else [100, 1000],
            "hvp": [100] if quick else [1000],
            "chain": 10_000 if quick else 100_000}


def targets(size):
    """One line per target: key, label, target ratio (eigengrad / peer, one thread;
    the targets of the second performance wave, issue 12). Keys name sizes by
    position, so that a smoke run fills the same lines."""
    rows = [
        ("overhead_geomean", "per-op fwd+bwd, tiny (1x1, 4x4): geometric mean of 18 vs torch", OVERHEAD_TARGET),
        ("overhead_worst", "per-op fwd+bwd, tiny (1x1, 4x4): worst of 18 vs torch", OVERHEAD_TARGET),
        ("mlp_64-32-10_torch", "MLP 64-32-10, batch 32, train step vs torch", MLP_TARGETS["64-32-10"]["torch"]),
        ("mlp_64-32-10_jax", "MLP 64-32-10, batch 32, train step vs JAX jit", MLP_TARGETS["64-32-10"]["jax"]),
        ("mlp_784-256-256-10_torch", "MLP 784-256-256-10, batch 128, vs torch",
         MLP_TARGETS["784-256-256-10"]["torch"]),
        ("mlp_784-1024-1024-10_torch", "MLP 784-1024-1024-10, batch 256, vs torch",
         MLP_TARGETS["784-1024-1024-10"]["torch"]),
    ]
    rows += [(f"gemm_{dt}_{i}", f"GEMM {dt} n={n} vs NumPy", GEMM_TARGET)
             for dt in ("float32", "float64") for i, n in enumerate(size["gemm"])]
    rows += [(f"jacobian_{i}", f"Jacobian n={n} (float64) vs torch.func.jacrev", t)
             for i, (n, t) in enumerate(zip(size["jacobian"], JACOBIAN_TARGETS))]
    rows += [("hvp_0", f"HVP n={size['hvp'][0]} (float64) vs torch double backward", HVP_TARGET),
             ("chain", f"{size['chain']:,}-op chain (float32), build + backward, vs torch", CHAIN_TARGET)]
    return rows


# The targets (eigengrad / peer, one thread), used by the summary and the sections.
OVERHEAD_TARGET = 0.10
MLP_TARGETS = {"64-32-10": {"torch": 0.12, "jax": 1.0}, "784-256-256-10": {"torch": 0.6},
               "784-1024-1024-10": {"torch": 0.9}}
GEMM_TARGET = 1.0
JACOBIAN_TARGETS = (0.2, 0.55)
HVP_TARGET = 0.6
CHAIN_TARGET = 0.15


def jacobian_target(key, index):
    """The target of the index-th size of the "jacobian" or "hvp" group."""
    return JACOBIAN_TARGETS[index] if key == "jacobian" else HVP_TARGET


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ratios(p):
    """{target key: (ratio, detail)} for one pass; a missing peer gives no key."""
    r = {}
    tiny = [(row["eg_b"] / row["th_b"], f"{row['op']} {row['size']}") for row in p["overhead"]["rows"]
            if row["size"] in ("1x1", "4x4") and row["th_b"]]
    if tiny:
        r["overhead_geomean"] = (geomean([v for v, _ in tiny]), "")
        r["overhead_worst"] = max(tiny)
    for row in p["mlp"]["rows"]:
        for peer in ("torch", "jax"):
            if peer in row["us"]:
                r[f"mlp_{row['net']}_{peer}"] = (row["us"]["eigengrad"] / row["us"][peer], "")
    for row in p["gemm"]["rows"]:
        r[f"gemm_{row['dtype']}_{p['sizes']['gemm'].index(row['n'])}"] = (row["ms"]["eigengrad"] / row["ms"]["numpy"], "")
    for key, peer_name, eg_name in (("jacobian", "torch.func.jacrev", 'eg.jacobian mode="auto"'),
                                    ("hvp", "torch double backward", "eg.hvp")):
        for i, group in enumerate(p[key]["groups"]):
            ms = {row["name"]: row["ms"] for row in group["rows"]}
            if peer_name in ms:
                r[f"{key}_{i}"] = (ms[eg_name] / ms[peer_name], "")
    for group in p["hvp"]["groups"][:1]:
        ms = {row["name"]: row["ms"] for row in group["rows"]}
        if "hvp_0" in r and "eg.hvp, inputs 64-byte aligned" in ms:
            r["hvp_0"] = (r["hvp_0"][0], f"{ms['eg.hvp, inputs 64-byte aligned'] / ms['torch double backward']:.2f} "
                          "with the inputs 64-byte aligned")
    if "torch" in p["chain"]["ms"]:
        r["chain"] = (p["chain"]["ms"]["eigengrad"] / p["chain"]["ms"]["torch"], "")
    return r
