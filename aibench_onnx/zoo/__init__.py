"""The model zoo as data: ModelSpec/TensorSpec/Tolerance (numpy only), the registry, parity input sets,
the listing."""
