"""A deterministic Violet world simulator: signed webhook traffic plus the truth it implies.

`python -m simulator send|write|truth` (see `simulator.__main__`). The same seed and options give
byte-identical deliveries; `truth` writes what a correct warehouse must conclude from them.
"""

__version__ = "1.0.0"
