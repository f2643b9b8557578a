"""Bundle adjustment Jacobian: eigengrad beside PyTorch (GradBench/ADBench "ba").

n cameras of 11 parameters (Rodrigues rotation 3, centre 3, focal length 1,
principal point 2, radial distortion 2), m points (3), p observations, each of
one point by one camera with a measured feature (2) and a weight w. The residual
of observation i, with its camera c and point X:

    Xc = R(rot) (X - centre)           (Rodrigues: cos, sin, cross product)
    u  = Xc[:2] / Xc[2]
    u' = u (1 + k1 |u|^2 + k2 |u|^4)
    r_i = w_i (f u' + principal point - feature_i)          (2 values)

r_i depends on 15 numbers only (c's 11, X's 3, w_i), so the Jacobian of all
residuals (2p x (11n + 3m + p)) is block-sparse: p blocks of 2 x 15. Both
libraries compute exactly these blocks, (p, 2, 15), on the residuals of all
observations at once (the camera and point of each observation gathered first),
never a dense Jacobian:

- reverse mode, 2 cotangents: one VJP per residual component, with the cotangent
  1 in that component of every observation (each residual depends on its own row
  only, so the gradient of sum_i r_i[k] row by row is row k of each block), as
  two passes (eg.vjp) or one batched pass (eg.autograd.grad with
  is_grads_batched, torch.func.vmap of the vjp);
- forward mode, one pass of 15 tangents (eigengrad's batched jvp: a unit tangent
  per parameter slot, in every row at once);
- PyTorch also the per-observation Jacobian vectorised, vmap(jacrev) and
  vmap(jacfwd) of the single-observation residual (torch.func's idiom).

Left out: the rotation's theta = 0 branch (random cameras never hit it) and the
weight error 1 - w^2, whose derivative -2w needs no AD.

Run:
    python3 bench/workloads/ba.py [--quick] [--check-only]
"""

import sys

import numpy as np

import common
from common import eg

NAME = "ba"
SIZES = [dict(n=10, m=200, p=1000), dict(n=50, m=2000, p=10000), dict(n=200, m=20000, p=100000)]
QUICK = [dict(n=5, m=50, p=100), dict(n=10, m=200, p=1000)]
NPAR = 15  # 11 camera parameters, 3 point coordinates, 1 weight


def label(size):
    return f"n={size['n']} m={size['m']} p={size['p']}"


def inputs(size):
    n, m, p = size["n"], size["m"], size["p"]
    rng = np.random.default_rng(0)
    cams = np.concatenate([rng.normal(0, 0.3, (n, 3)), rng.normal(0, 1, (n, 3)), rng.uniform(400, 600, (n, 1)),
                           rng.normal(0, 5, (n, 2)), rng.normal(0, 1e-3, (n, 2))], axis=1)
    points = rng.normal(0, 1, (m, 3)) + [0.0, 0.0, 10.0]  # in front of every camera
    cam_idx = np.concatenate([np.arange(n), rng.integers(0, n, p - n)])
    pt_idx = np.concatenate([np.arange(m) % p, rng.integers(0, m, p - min(m, p))])[:p]
    return {"cams": cams, "points": points, "cam_idx": cam_idx, "pt_idx": pt_idx,
            "w": rng.uniform(0.5, 1.5, p), "feats": rng.normal(0, 50, (p, 2))}


def gathered(data):
    """Each observation's camera (p, 11) and point (p, 3): NumPy fancy indexing,
    the same step for both libraries, inside the timed call."""
    return data["cams"][data["cam_idx"]], data["points"][data["pt_idx"]]


CROSS_A, CROSS_B = [1, 2, 0], [2, 0, 1]  # (a x b)_j = a[A_j] b[B_j] - a[B_j] b[A_j]


def eigengrad(data):
    feats = eg.Variable(data["feats"])
    p = feats.shape[0]

    def residual(cams, X, w):
        rot, centre, f = cams[:, 0:3], cams[:, 3:6], cams[:, 6:7]
        pp, k1, k2 = cams[:, 7:9], cams[:, 9:10], cams[:, 10:11]
        Xc = X - centre
        theta = eg.sqrt(eg.sum(rot * rot, axis=1, keepdims=True))
        axis = rot / theta
        cos, sin = eg.cos(theta), eg.sin(theta)
        cross = axis[:, CROSS_A] * Xc[:, CROSS_B] - axis[:, CROSS_B] * Xc[:, CROSS_A]
        dot = eg.sum(axis * Xc, axis=1, keepdims=True)
        Xr = Xc * cos + cross * sin + axis * (dot * (1 - cos))
        u = Xr[:, 0:2] / Xr[:, 2:3]
        r2 = eg.sum(u * u, axis=1, keepdims=True)
        pred = u * (1 + k1 * r2 + k2 * (r2 * r2)) * f + pp
        return (pred - feats) * w[:, None]

    w = eg.Variable(data["w"])
    cotangents = [np.zeros((p, 2)) for _ in range(2)]
    for k, c in enumerate(cotangents):
        c[:, k] = 1.0
    # unit tangents: slot j of the 15 is 1 in every row of its argument
    eye = np.eye(NPAR)
    tangents = (np.ascontiguousarray(np.broadcast_to(eye[:, None, 0:11], (NPAR, p, 11))),
                np.ascontiguousarray(np.broadcast_to(eye[:, None, 11:14], (NPAR, p, 3))),
                np.ascontiguousarray(np.broadcast_to(eye[:, None, 14], (NPAR, p))))

    def rev():
        cams, X = gathered(data)
        _, vjp_fn = eg.vjp(residual, cams, X, w)
        rows = [eg.concatenate([gc, gx, gw[:, None]], axis=1) for gc, gx, gw in map(vjp_fn, cotangents)]
        return eg.stack(rows, axis=1)                                      # (p, 2, 15)

    batched = np.stack(cotangents)                                         # (2, p, 2)

    def rev_batched():
        leaves = [eg.Variable(a, requires_grad=True) for a in gathered(data) + (data["w"],)]
        gc, gx, gw = eg.autograd.grad(residual(*leaves), leaves, batched, is_grads_batched=True)
        return eg.transpose(eg.concatenate([gc, gx, gw[:, :, None]], axis=2), (1, 0, 2))

    def fwd():
        cams, X = gathered(data)
        _, tout = eg.jvp(residual, (cams, X, w), tangents)                 # (15, p, 2)
        return eg.transpose(tout, (1, 2, 0))

    return {"eg.autograd.grad batched (rev)": rev_batched, "eg.vjp x 2 (rev)": rev,
            "eg.jvp 15 tangents (fwd)": fwd}


def torch(data):
    t = common.torch
    feats = t.from_numpy(data["feats"])
    w = t.from_numpy(data["w"])
    p = feats.shape[0]

    def residual(cam, X, w, feat):
        """One observation (cam (11,), X (3,)) or a batch: last-axis ops only."""
        rot, centre, f = cam[..., 0:3], cam[..., 3:6], cam[..., 6:7]
        pp, k1, k2 = cam[..., 7:9], cam[..., 9:10], cam[..., 10:11]
        Xc = X - centre
        theta = t.sqrt((rot * rot).sum(-1, keepdim=True))
        axis = rot / theta
        cos, sin = t.cos(theta), t.sin(theta)
        Xr = Xc * cos + t.linalg.cross(axis, Xc) * sin + axis * ((axis * Xc).sum(-1, keepdim=True) * (1 - cos))
        u = Xr[..., 0:2] / Xr[..., 2:3]
        r2 = (u * u).sum(-1, keepdim=True)
        pred = u * (1 + k1 * r2 + k2 * (r2 * r2)) * f + pp
        return (pred - feat) * w[..., None]

    per_obs = {name: t.func.vmap(jac(residual, argnums=(0, 1, 2)))
               for name, jac in (("jacrev", t.func.jacrev), ("jacfwd", t.func.jacfwd))}
    cotangents = t.zeros((2, p, 2), dtype=t.float64)
    cotangents[0, :, 0] = 1.0
    cotangents[1, :, 1] = 1.0

    def vmapped(name):
        def run():
            cams, X = map(t.from_numpy, gathered(data))
            jc, jx, jw = per_obs[name](cams, X, w, feats)                  # (p,2,11), (p,2,3), (p,2)
            return t.cat([jc, jx, jw[..., None]], dim=2)
        return run

    def rev():
        cams, X = map(t.from_numpy, gathered(data))
        _, vjp_fn = t.func.vjp(lambda c, x, w: residual(c, x, w, feats), cams, X, w)
        gc, gx, gw = t.func.vmap(vjp_fn)(cotangents)                       # (2,p,11), (2,p,3), (2,p)
        return t.cat([gc, gx, gw[..., None]], dim=2).transpose(0, 1)

    return {"vmap(vjp) x 2 (rev)": rev, "vmap(jacrev)": vmapped("jacrev"), "vmap(jacfwd)": vmapped("jacfwd")}


if __name__ == "__main__":
    common.main(sys.modules[__name__])
