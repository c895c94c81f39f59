"""Everything onnxruntime: sessions credited only to the provider that really runs, the one ORT loop over
input sets, the one timed ORT runner (IO binding, CUDA graphs), provider audit, pip CUDA libraries,
install forensics and the provider probe. The only place that imports onnxruntime."""
