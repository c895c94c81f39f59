"""The artifacts stage: what parity and timing consume, built once — native reference outputs and exports
(in the framework's own process), precision variants of an exported graph and their calibration sets.

Parity and timing both import this stage; neither imports the other.
"""
