from eigengrad._core import *  # placeholder
