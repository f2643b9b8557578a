"""The chart (results/results.png): eigengrad / peer ratios per target, one bar per
pass, the targets as red marks, on a log scale.

matplotlib is imported inside chart(), not here: a pass subprocess imports this
module too (through bench/run.py), and matplotlib would load NumPy before the pass's
thread settings are made.
"""

from .report_format import pass_label
from .targets import ratios, targets


def chart(passes, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rs = [ratios(p) for p in passes]
    items = [(label, target, [r.get(key, (None,))[0] for r in rs]) for key, label, target in targets(passes[0]["sizes"])]
    items = [it for it in items if it[2][0] is not None]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(items) + 1.8))
    height = 0.8 / len(passes)
    colours = ["tab:blue", "tab:orange"]
    for k, p in enumerate(passes):
        ys = [i + (k - (len(passes) - 1) / 2) * height for i in range(len(items))]
        points = [(y, it[2][k]) for y, it in zip(ys, items) if it[2][k] is not None]
        ax.barh([y for y, _ in points], [v for _, v in points], height=height,
                color=colours[k % 2], label=pass_label(p))
        for y, v in points:
            ax.text(v * 1.03, y, f"{v:.2f}", va="center", fontsize=7)
    for i, (_, target, _) in enumerate(items):
        ax.plot([target, target], [i - 0.45, i + 0.45], color="red", lw=2,
                label="target (1 thread)" if i == 0 else None)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    values = [v for it in items for v in it[2] if v] + [it[1] for it in items]
    ax.set_xlim(min(values) / 1.4, max(values) * 1.35)
    ticks = [t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10)
             if min(values) / 1.4 <= t <= max(values) * 1.35]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels([it[0] for it in items], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("eigengrad time / peer time (log scale; left of the red mark meets the target)")
    m = passes[0]["meta"]
    ax.set_title(f"eigengrad {m['eigengrad']} vs NumPy / PyTorch {m['torch']} / JAX {m['jax']}\n"
                 f"{m['cpu']}, {m['cores']} cores, {m['date']}" + ("  (QUICK smoke run)" if passes[0]["quick"] else ""),
                 fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.07 * 16 / (len(items) + 4)), ncol=3)
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=110)
