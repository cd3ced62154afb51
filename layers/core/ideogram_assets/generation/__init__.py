"""Generation: the spec (spec.py), the one service every trigger calls (service.py) and what an
execution environment builds for it (wiring.py)."""
