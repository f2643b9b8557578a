"""How the report writes things: time and ratio cells, the "met?" verdict, Markdown
tables, and a pass's label (the chart's legend uses it too)."""


def f_time(v):
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def f_ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def met(ratio, target):
    if ratio is None:
        return "-"
    over = ratio / target - 1
    digits = 2 if over < 0.01 else 1 if over < 0.1 else 0
    return "yes" if over <= 0 else f"**no** ({over:.{digits}%} over)"


def numeric(cell):
    text = str(cell).split(" ")[0].lstrip("<=").replace(",", "")
    try:
        float(text)
        return True
    except ValueError:
        return text in ("", "-", "yes", "**no**")


def table(head, rows):
    """A Markdown table; columns of numbers align right, the others left."""
    right = [all(numeric(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("--:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pass_label(p):
    return "1 thread" if p["threads"] == 1 else f"all threads ({p['threads']})"
