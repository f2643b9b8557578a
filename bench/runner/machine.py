"""What the report says about the machine and the software: CPU, SIMD flags, BLAS,
versions, thread settings, the repository's HEAD (one dict per pass, "meta")."""

import os
import platform
import subprocess
import time

from benchutil import cpu_model  # bench/python, put on sys.path by bench/run.py

from .paths import REPO
from .threads import BLAS_VARS


def meta(np, eg, torch, jax, jax_error, threads):
    info = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "arch": platform.machine(),
        "simd": simd_flags(), "os": f"{platform.system()} {platform.release()}",
        "libc": " ".join(platform.libc_ver()), "python": platform.python_version(),
        "numpy": np.__version__, "blas": blas_info(np), "eigengrad": eg.__version__,
        "eigengrad_file": eg.__file__, "eg_threads": eg.get_num_threads(),
        "eigengrad_built": time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(os.path.getmtime(eg._core.__file__))),
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "jax": jax.__version__ if jax is not None else None, "jax_error": jax_error,
        "env": {var: os.environ.get(var) for var in BLAS_VARS + ("XLA_FLAGS",)},
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "git": git_head(),
    }
    if jax is not None:
        import jaxlib
        info["jaxlib"] = jaxlib.__version__
        info["jax_devices"] = [str(d) for d in jax.devices()]
    return info


def simd_flags():
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next(line for line in fh if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    names = {"avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512F", "amx_tile": "AMX"}
    return ", ".join(label for flag, label in names.items() if flag in flags)


def blas_info(np):
    try:
        from threadpoolctl import threadpool_info
        found = [f"{i['internal_api']} {i['version']} ({i.get('architecture')} kernels, "
                 f"{i['num_threads']} thread{'s' if i['num_threads'] > 1 else ''})"
                 for i in threadpool_info() if i.get("user_api") == "blas"
                 and "numpy" in i.get("filepath", "")]
        if found:
            return ", ".join(found)
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']}"
    except Exception:
        return "unknown"


def git_head():
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
