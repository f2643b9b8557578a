"""Training demos.

- ``python -m eigengrad.demo``: an MLP on the 8x8 handwritten digits (see
  :mod:`eigengrad.demo.digits`);
- ``python -m eigengrad.demo.boundary``: a 2-D classifier (two moons or spirals)
  and a plot of its decision boundary.

Both print their options with ``--help``. They use tqdm and matplotlib when
installed (``pip install "eigengrad[demo]"``) and run without them.
"""
