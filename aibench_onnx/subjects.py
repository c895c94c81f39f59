"""What aibench checks, times and explains — a subject: a zoo model at one size, or a user's own model as declared
(at one point of its dims sweep). One interface for both, so the stages downstream do not ask which it is: its
name and size, its inputs at a batch size, the model built in its framework's process, its known exporter
failures, and its JSON form for the processes it crosses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

USER_SIZE = "as declared"  # a user's model has no size variants: its inputs and dims say its size


@dataclass(frozen=True)
class Subject:
    name: str
    size: str
    user: dict | None = None  # frameworks.user_model.UserModel as a dict; None: the zoo model `name`
    zoo_name: str = ""  # the zoo model, when `name` names one of its phases (decoder@decode=48); else `name`
    dims: tuple[tuple[str, int], ...] = ()  # sizes replacing the zoo variant's (a decoder phase's lengths)
    # ONNX files of one function (frameworks.file_inputs.FileInputs as a dict): no native model, its inputs as
    # the user gave them for the first file (the same feed serves every file)
    file: dict | None = None

    @classmethod
    def of_zoo(cls, name: str, size: str | None = None) -> Subject:
        from aibench_onnx.zoo.registry import get_spec

        return cls(name, size or get_spec(name).default_size)

    @classmethod
    def of_user(cls, user, name: str | None = None, size: str = USER_SIZE) -> Subject:
        """`user`: a UserModel or its dict; `name`: a sweep point's (`model@seq=128`), default the model's."""
        data = user if isinstance(user, dict) else user.to_dict()
        return cls(name or data["name"], size, data)

    @classmethod
    def of_files(cls, name: str, inputs) -> Subject:
        """ONNX files timed as they are; `inputs`: a FileInputs (frameworks/file_inputs.py) or its dict."""
        return cls(name, USER_SIZE, file=inputs if isinstance(inputs, dict) else inputs.to_dict())

    @classmethod
    def decoder_phases(cls, name: str, size: str | None, prompts: list[int], new_tokens: int) -> list[Subject]:
        """A zoo decoder timed as generation spends its time: the prefill of each prompt length (its time to
        first token), and a decode step with the cache at the start and at the end of generating `new_tokens`
        after it (time per output token, and how it grows with the context)."""
        from aibench_onnx.zoo.registry import get_spec

        size = size or get_spec(name).default_size
        return [cls(f"{name}@{label}", size, zoo_name=name, dims=tuple(dims.items()))
                for label, dims in _phase_points(prompts, new_tokens)]

    @classmethod
    def user_decoder_phases(cls, user: dict, prompts: list[int], new_tokens: int) -> list[Subject]:
        """A user's causal LM (its dict with `decoder`, its DecoderIO) by phase, as decoder_phases."""
        return [cls.of_user({**user, "dims": dims}, f"{user['name']}@{label}", USER_SIZE)
                for label, dims in _phase_points(prompts, new_tokens)]

    @property
    def phase(self) -> dict | None:
        """A decoder phase's record: the decoder, prefill or decode, and its prompt length or cache context."""
        if self.zoo_name:
            decoder, dims = self.zoo_name, dict(self.dims)
        elif self.user and self.user.get("decoder"):
            decoder, dims = self.user["name"], self.user["dims"]
        else:
            return None
        prefill = dims.get("past", 0) == 0
        return {"decoder": decoder, "kind": "prefill" if prefill else "decode",
                "tokens": dims["seq"] if prefill else dims["past"]}

    @classmethod
    def from_dict(cls, data: dict) -> Subject:
        """From a job or request (`model` or `name`, `size`, `user`, and a zoo phase's `zoo_name` and `dims`)."""
        return cls(data.get("name") or data["model"], data["size"], data.get("user"), data.get("zoo_name", ""),
                   tuple((k, int(v)) for k, v in (data.get("dims") or {}).items()), data.get("file"))

    def to_dict(self) -> dict:
        return {"name": self.name, "size": self.size, "user": self.user,
                **({"zoo_name": self.zoo_name, "dims": dict(self.dims)} if self.zoo_name else {}),
                **({"file": self.file} if self.file else {})}

    @property
    def spec(self):
        """The zoo model's ModelSpec; None for a user's model or files."""
        from aibench_onnx.zoo.registry import get_spec

        return None if self.user or self.file else get_spec(self.zoo_name or self.name)

    def user_model(self):
        from aibench_onnx.frameworks.user_model import UserModel

        return UserModel(**self.user) if self.user else None

    @property
    def known_export_failures(self) -> dict:
        return self.spec.known_export_failures if self.spec is not None else {}

    def arrays(self, batch: int | None, seed: int = 0) -> dict[str, np.ndarray]:
        """Inputs at `batch` (files: None, as given): the same bytes in every process and runtime for one seed."""
        if self.file:
            from aibench_onnx.frameworks.file_inputs import FileInputs

            return FileInputs.from_dict(self.file).arrays(batch, seed)
        if self.user:
            return self.user_model().arrays(batch, seed=seed)
        return self.spec.make_inputs(self.size, batch, seed=seed, dims=dict(self.dims))

    def build(self, framework: str):
        """The model as the timing calls it, built in this (the framework's) process. A zoo model is built
        from the same parameters by each framework's builder; a user's model by its factory."""
        if self.user:
            from aibench_onnx.frameworks.user_model import build_user_model

            return build_user_model(self.user_model())[0]
        from aibench_onnx.frameworks import framework_of
        from aibench_onnx.zoo.registry import builder

        spec = self.spec
        return builder(spec.name, framework_of(framework))(spec.make_params(self.size), spec.sizes[self.size])


def _phase_points(prompts: list[int], new_tokens: int) -> list[tuple[str, dict[str, int]]]:
    """(label, dims) of a decoder's phases: each prompt's prefill, a decode step at the start and the end of
    `new_tokens` after each prompt."""
    phases = [(f"prefill={p}", {"seq": p, "past": 0, "total": p}) for p in prompts]
    contexts = sorted({c for p in prompts for c in (p, p + new_tokens - 1)})
    return phases + [(f"decode={c}", {"seq": 1, "past": c, "total": c + 1}) for c in contexts]
