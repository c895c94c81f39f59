"""Reproductions of parity defects: the smallest subgraph that still shows one, and a bundle that runs it
without aibench (issue 30; Polygraphy's `debug reduce` is the model)."""
