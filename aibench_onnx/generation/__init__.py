"""Decoder language models over a generation: greedy decoding with the key/value cache, natively and on the
exported graph, judged step by step (decoding, judge, faults, check); the framework's and the graph runtime's
sides run in processes of their own (native, onnx_side), driven by run."""
