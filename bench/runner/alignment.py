"""Inputs at a fixed distance from a 64-byte boundary (the Jacobian and HVP inputs).

eigengrad's matrix-vector products run at different speeds for different alignments,
and a NumPy array's alignment depends on the allocator's history (a fresh large array
is 16 bytes past one; later ones often 32, or anything 16-byte aligned), so the pass
fixes it. The report quotes OFFSET.
"""

OFFSET = 16


def place(np, a, offset=OFFSET):
    """A copy of `a` whose data start `offset` bytes past a 64-byte boundary."""
    buf = np.empty(a.nbytes + 128, np.uint8)
    start = (-buf.ctypes.data) % 64 + offset
    out = np.frombuffer(buf[start:start + a.nbytes], dtype=a.dtype).reshape(a.shape)
    out[...] = a
    return out
