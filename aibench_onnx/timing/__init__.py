"""Timing: the one measurement loop, statistics, energy, the bench (configurations, processes) and the
effects between configurations."""
