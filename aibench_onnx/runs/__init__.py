"""Whole runs: the run store (run.json + results.jsonl, typed readers), planning and running jobs,
report data, and comparing two runs."""
