"""The processes aibench starts, by name: `python -m aibench_onnx.workers NAME ...` (the table in __main__).

Nothing imports this package's entry point (workers are started by name through aibench_onnx.launch), so it
sits at the top of the layers, beside the CLI.
"""
