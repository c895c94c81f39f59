"""Hardware targets of a Ray run: which nodes a job may run on, and what each node is.

A target is a Ray custom resource that its nodes declare (`ray start --resources '{"l4": 1, "aibench_node":
1}'`, then `--targets l4`), or, without --targets, each live node on its own. Every node that runs aibench
jobs offers one `aibench_node` (runs/ray_executor.py: a timing task takes all of it, so it measures alone).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.runs.job import Job

NODE_RESOURCE = "aibench_node"
TARGET_SHARE = 0.001  # what a task asks of its target's resource: only where it may run, not how many at once


@dataclass
class Target:
    name: str
    resource: str | None = None  # a custom resource the target's nodes declare, or
    node_id: str | None = None  # one node
    nodes: list[dict] = field(default_factory=list)  # the target's nodes when the run was planned: id, address

    def placement(self, share: float) -> dict:
        """Ray task options that place a task on this target, taking `share` of its node's aibench_node."""
        resources = {NODE_RESOURCE: share}
        if self.resource is not None:
            return {"resources": {**resources, self.resource: TARGET_SHARE}}
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return {"resources": resources,
                "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=self.node_id, soft=False)}

    def to_dict(self) -> dict:
        return asdict(self)

    def alive(self) -> bool:
        """Whether a live node can take this target's tasks (a task asked of a target with none would wait
        for ever: Ray keeps an infeasible task pending)."""
        import ray

        for node in ray.nodes():
            resources = node.get("Resources", {})
            if node.get("Alive") and resources.get(NODE_RESOURCE, 0) >= 1 and (
                    node["NodeID"] == self.node_id if self.resource is None else resources.get(self.resource, 0) > 0):
                return True
        return False


def connect(address: str | None) -> None:
    """Join the Ray cluster at `address` ("auto": the one started on this machine with `ray start`); without
    one, start a new one-node cluster here (offering one aibench_node) for this run."""
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'aibench-onnx[ray]'", ExitCode.ENVIRONMENT) from None
    if ray.is_initialized():
        return
    options = {"log_to_driver": False, "logging_level": "ERROR", "include_dashboard": False}
    try:
        if address is None:  # "local": a new cluster here, even where another one runs
            os.environ.setdefault("RAY_worker_niceness", "0")  # workers at normal priority (Ray's default: 15)
            ray.init(address="local", resources={NODE_RESOURCE: 1}, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot join the Ray cluster at {address}: {' '.join(str(exc).split())[:200]}",
                        ExitCode.ENVIRONMENT) from None


def resolve_targets(names: list[str] | None) -> list[Target]:
    """The targets by name (each a custom resource some live nodes declare), or one per live node."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    workers = [n for n in nodes if n["Resources"].get(NODE_RESOURCE, 0) >= 1]
    if not workers:
        raise UserError(f"no live Ray node offers the {NODE_RESOURCE!r} resource: start each node that may run jobs "
                        f"with ray start --resources '{{\"{NODE_RESOURCE}\": 1}}'", ExitCode.ENVIRONMENT)
    if not names:
        return [Target(f"node-{n['NodeManagerAddress']}-{n['NodeID'][:6]}", node_id=n["NodeID"],
                       nodes=[_describe(n)]) for n in workers]
    targets = []
    for name in names:
        members = [n for n in workers if n["Resources"].get(name, 0) > 0]
        if not members:
            raise UserError(f"target {name!r}: no live node with {NODE_RESOURCE!r} declares the resource {name!r} "
                            f"(ray start --resources '{{\"{name}\": 1, \"{NODE_RESOURCE}\": 1}}')")
        targets.append(Target(name, resource=name, nodes=[_describe(n) for n in members]))
    return targets


def still_there(target: Target) -> Target:
    """A per-node target on resume: the node may have been restarted (a one-node cluster the driver began is
    new each time) — the live node at the same address takes its place; a resource target is as it was."""
    import ray

    if target.node_id is None:
        return target
    live = [n for n in ray.nodes() if n.get("Alive") and n["Resources"].get(NODE_RESOURCE, 0) >= 1]
    if any(n["NodeID"] == target.node_id for n in live):
        return target
    address = target.nodes[0]["address"] if target.nodes else None
    same = [n for n in live if n["NodeManagerAddress"] == address]
    if len(same) != 1:
        raise UserError(f"target {target.name}: its node ({address}) is no longer in the Ray cluster")
    return Target(target.name, node_id=same[0]["NodeID"], nodes=[_describe(same[0])])


def _describe(node: dict) -> dict:
    return {"node_id": node["NodeID"], "address": node["NodeManagerAddress"]}


def for_targets(jobs: list[Job], targets: list[str]) -> list[Job]:
    """Every job on every target; a job's id carries its target (parity/mlp/torch@l4)."""
    return [job.on_target(target) for target in targets for job in jobs]


def node_dir(run_dir: str, target: str) -> str:
    """Where a target's nodes keep their artifacts (exports, variants): built once per target, reused there.
    On one machine or a shared file system it is inside the run directory; elsewhere each node creates it."""
    return str(Path(run_dir) / "targets" / target)


def like_a_local_process() -> None:
    """A Ray worker differs from a process a local run starts in two ways its jobs would inherit: Ray sets
    OMP_NUM_THREADS=1 (aibench's workers set their thread counts from the run's --threads, and ORT's parity
    worker only where it is unset), and starts workers at niceness 15 (`worker_niceness`): measured at low
    priority beside Ray's own processes, jax-jit ran up to 1.4x slower than in a local run. Both undone —
    niceness where the node lets us (root, CAP_SYS_NICE); the node identity records what it was."""
    os.environ.pop("OMP_NUM_THREADS", None)
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
    except (OSError, AttributeError):  # not permitted, or not POSIX
        pass


def node_identity() -> dict:
    """This node: Ray node id, host name and hardware fingerprint (what compare checks before it compares)."""
    import socket

    import ray

    from aibench_onnx.env.system import hardware_fingerprint

    return {"node_id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
            "fingerprint": hardware_fingerprint(), "niceness": _niceness()}


def _niceness() -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)
    except (OSError, AttributeError):
        return None


def target_environments(targets: list[Target]) -> dict[str, dict]:
    """target -> `aibench env`'s document and the identity of the node that answered, collected on it."""
    import ray

    def on_node() -> dict:
        from aibench_onnx.env.collect import collect_environment

        like_a_local_process()
        return {"environment": collect_environment(), "node": node_identity()}

    task = ray.remote(max_calls=1)(on_node)
    refs = {t.name: task.options(num_cpus=0, **t.placement(0.0001)).remote() for t in targets}
    return {name: ray.get(ref) for name, ref in refs.items()}
