"""How busy other processes keep the machine (from /proc/stat), and waiting for it to be idle."""

import os
import time


def busy_core_seconds():
    """CPU seconds spent by the whole machine (all processes) since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


class OtherLoad:
    """How busy the other processes kept the machine over a stretch of this pass: the
    machine's CPU time less this process's, per second of wall time (in cores)."""

    def __init__(self):
        self.machine, self.own, self.wall = busy_core_seconds(), time.process_time(), time.perf_counter()

    def cores(self):
        machine = busy_core_seconds()
        if machine is None or self.machine is None:
            return None
        others = (machine - self.machine) - (time.process_time() - self.own)
        return max(0.0, others) / (time.perf_counter() - self.wall)


def wait_idle(timeout, below=0.15, window=3.0):
    """Wait until the other processes keep fewer than `below` cores busy over `window`
    seconds, or `timeout` seconds pass; returns the load last seen (in cores)."""
    deadline = time.monotonic() + timeout
    while True:
        load = OtherLoad()
        time.sleep(window)
        cores = load.cores()
        if cores is None or cores < below or time.monotonic() >= deadline:
            return cores
        print(f"waiting for an idle machine: other processes busy on {cores:.2f} cores", flush=True)
        time.sleep(10)
