"""The typed key of a timed configuration: its label is derived from its fields and read back from any
version's JSON (full records, and documents that kept only some fields beside the label)."""

import json

import pytest

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.timing.configs import plan

CONFIGS = [RuntimeConfig.native("torch-eager", "torch"), RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all"),
           RuntimeConfig.graph_runtime("ort", "torch-script", "cuda", "disabled", io_binding=False, precision="fp16"),
           RuntimeConfig.graph_runtime("ort", "jax", "cuda", "all", cuda_graph=True),
           RuntimeConfig.graph_runtime("openvino", "tf", "cpu"),
           RuntimeConfig.graph_runtime("openvino", "torch", "cpu", precision="int8-static")]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.label)
def test_json_round_trip_and_label_round_trip(config):
    assert RuntimeConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    framework = "" if config.runs_graph else config.framework
    assert RuntimeConfig.from_label(config.label, framework) == config


def test_labels_are_those_earlier_versions_wrote():
    assert [c.label for c in CONFIGS] == [
        "torch-eager", "ort:torch-graph:cpu:all", "ort:torch-script-graph:cuda:disabled:no-iobinding:fp16",
        "ort:jax-graph:cuda:all:cuda-graph", "openvino:tf-graph:cpu", "openvino:torch-graph:cpu:int8-static"]


def test_a_stored_record_of_an_earlier_version_reads_as_the_same_key():
    stored = {"label": "ort:torch-graph:cpu:all", "kind": "ort", "framework": "torch", "ep": "cpu",
              "opt_level": "all", "io_binding": True, "cuda_graph": False}  # before precisions: no field
    assert RuntimeConfig.from_dict(stored) == RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all")
    partial = {"label": "ort:jax-graph:cpu:all", "kind": "ort", "framework": "jax"}
    assert RuntimeConfig.from_dict(partial) == RuntimeConfig.graph_runtime("ort", "jax", "cpu", "all")


def test_keys_are_hashable_and_plans_are_unique_by_key():
    configs = plan(["torch", "tf"], ["torch-eager", "ort", "openvino"], ["cpu", "cuda"], ["disabled", "all"],
                   [True, False], (False, True), ("fp32", "fp16"))
    assert len(set(configs)) == len(configs) == len({c.label for c in configs})
    assert {c.process_group for c in configs if c.kind == "ort"} == {
        "ort-cpu-graphs", "ort-cuda-graphs"}  # every graph of one provider in one process: effects paired
