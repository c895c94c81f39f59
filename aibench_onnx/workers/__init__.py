"""The entry points of the processes aibench starts: `python -m aibench_onnx.workers.NAME REQUEST.json OUT.json`.

Each module hands its request to the stage that does the work; nothing imports these modules (they are
started by name through aibench_onnx.launch), so they sit at the top of the layers, beside the CLI.
"""
