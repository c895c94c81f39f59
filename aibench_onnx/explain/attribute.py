"""The attribution of one effect between two profiled configurations (two graphs of one function on one
runtime: an exporter effect; one graph at two optimizer levels: an optimizer effect; one graph on two providers:
a runtime effect): the difference in time split by operator type and by source module, and the part that lies
outside the nodes.

Node times come from profiled runs, whose overhead is not the timed runs' (profiling inflates many short nodes,
and every node of a loop body on each iteration). A profiled run is nodes plus what lies between them (the
executor's dispatch, the thread pool, copies in and out); each side's unprofiled latency is split in the same
proportion, and its node time shared out as the profiled node times are. The difference in node time is then
split by operator type and by source; the difference in time outside the nodes is stated beside it (per node,
it is the cost of dispatching one: a graph with many more nodes pays it many more times). When the profiled
node times are not within ±10 % of the unprofiled latency, a note says so and by how much.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from aibench_onnx.profiles import GraphProfile

COVERAGE_TOLERANCE = 0.10  # profiled node time within ±10 % of the unprofiled latency: no note
OUTSIDE = "(outside the nodes)"


@dataclass
class Contribution:
    group: str
    baseline_us: float
    candidate_us: float
    baseline_nodes: int
    candidate_nodes: int

    @property
    def difference_us(self) -> float:
        return self.candidate_us - self.baseline_us

    def to_dict(self) -> dict:
        return {**asdict(self), "difference_us": self.difference_us}


@dataclass
class Attribution:
    kind: str  # exporter | optimizer | precision | runtime | graphs
    baseline: str
    candidate: str
    baseline_latency_us: float
    candidate_latency_us: float
    by_op_type: list[Contribution]  # node time, by operator type
    by_source: list[Contribution]  # node time, by source module
    outside: Contribution  # time outside the nodes: executor dispatch, thread pool, copies in and out
    coverage: tuple[float, float]  # profiled node time / unprofiled latency, each side
    notes: list[str] = field(default_factory=list)
    grouping: str = "source module"  # what by_source groups by: source modules, or operator families
    # side -> op type -> [µs, nodes] inside control-flow subgraphs (their time is their parent's: not summed)
    inside_loops: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @property
    def measured_difference_us(self) -> float:
        return self.candidate_latency_us - self.baseline_latency_us

    @property
    def attributed_us(self) -> float:
        """The part of the difference the nodes' own time accounts for."""
        return sum(c.difference_us for c in self.by_op_type)

    @property
    def attributed_share(self) -> float | None:
        if abs(self.measured_difference_us) < 1e-9:
            return None
        return self.attributed_us / self.measured_difference_us

    @property
    def ratio(self) -> float:
        return self.candidate_latency_us / self.baseline_latency_us if self.baseline_latency_us else float("nan")

    def share(self, row: Contribution) -> float:
        measured = self.measured_difference_us
        return row.difference_us / measured if measured else 0.0

    def top(self, by: str = "op_type", count: int = 3) -> list[Contribution]:
        """The contributions that move time the way the measured difference goes, largest first."""
        rows = self.by_op_type if by == "op_type" else self.by_source
        sign = 1 if self.measured_difference_us >= 0 else -1
        return sorted((r for r in rows if r.difference_us * sign > 0), key=lambda r: -abs(r.difference_us))[:count]

    def line(self) -> str:
        """One sentence: the ratio, the top contributors by operator type with their share, what works against
        it, a leading loop's body, and the time outside the nodes when it matters."""
        measured = self.measured_difference_us
        direction = "slower" if measured > 0 else "faster"
        ratio = self.ratio if measured > 0 else 1 / self.ratio
        # two vocabularies (aten against ONNX operators): the families are what both sides share
        by = "source" if self.grouping == "operator family" else "op_type"
        rows = self.by_source if by == "source" else self.by_op_type
        parts = [f"{row.group} {100 * self.share(row):.0f} % of the difference ({row.baseline_nodes} → "
                 f"{row.candidate_nodes} nodes, {row.baseline_us:.0f} → {row.candidate_us:.0f} µs)"
                 for row in self.top(by)]
        sign = 1 if measured >= 0 else -1
        against = sorted((r for r in rows if r.difference_us * sign < 0), key=lambda r: abs(r.difference_us))
        if against and abs(against[-1].difference_us) > 0.05 * abs(measured):
            row = against[-1]
            parts.append(f"against it: {row.group} {row.difference_us:+.0f} µs ({row.baseline_nodes} → "
                         f"{row.candidate_nodes} nodes)")
        body = self._loop_body()
        if body:
            parts.append(body)
        if abs(self.outside.difference_us) > 0.1 * abs(measured):
            parts.append(f"outside the nodes {100 * self.share(self.outside):.0f} % ({self.outside.baseline_us:.0f} → "
                         f"{self.outside.candidate_us:.0f} µs for {self.outside.baseline_nodes} → "
                         f"{self.outside.candidate_nodes} nodes: executor dispatch, thread pool, copies)")
        text = f"{self.candidate} vs {self.baseline}: {ratio:.2f}× {direction}"
        return text + ((": " + "; ".join(parts)) if parts else ": no node time moves that way")

    def _loop_body(self) -> str:
        """When a control-flow node leads, what its body runs per iteration (on the side that has more of it)."""
        top = self.top(count=1)
        if not top or top[0].group not in ("Loop", "Scan", "If"):
            return ""
        side = "candidate" if top[0].difference_us > 0 else "baseline"
        body = self.inside_loops.get(side, {})
        nodes = int(sum(count for _, count in body.values()))
        if not nodes:
            return ""
        # counts, not profiled shares: profiling inflates every short body node alike on each iteration
        kinds = ", ".join(f"{op} {int(count)}" for op, (_, count) in
                          sorted(body.items(), key=lambda item: -item[1][1])[:5])
        where = self.candidate if side == "candidate" else self.baseline
        return f"{top[0].group} bodies of {where} run {nodes} nodes per iteration ({kinds}, …): one dispatch each"

    def to_dict(self) -> dict:
        return {**asdict(self), "by_op_type": [c.to_dict() for c in self.by_op_type],
                "by_source": [c.to_dict() for c in self.by_source], "outside": self.outside.to_dict(),
                "measured_difference_us": self.measured_difference_us, "attributed_us": self.attributed_us,
                "attributed_share": self.attributed_share, "ratio": self.ratio, "line": self.line()}


def split_run(profile: GraphProfile) -> tuple[float, float]:
    """(node time, time outside the nodes) of one unprofiled run: the latency in the proportion a profiled run
    has them."""
    run, nodes = profile.profiled_run_us, profile.node_sum_us
    node_fraction = min(nodes / run, 1.0) if run == run and run > 0 else 1.0
    return profile.latency_us * node_fraction, profile.latency_us * (1 - node_fraction)


def _top_level(profile: GraphProfile) -> list:
    return [node for node in profile.nodes if not node.nested]


def _grouped(profile: GraphProfile, key, scale: float) -> dict[str, tuple[float, int]]:
    found: dict[str, tuple[float, int]] = {}
    for node in _top_level(profile):
        time_us, count = found.get(key(node), (0.0, 0))
        found[key(node)] = (time_us + node.median_us * scale, count + 1)
    return found


def _contributions(base: dict, candidate: dict) -> list[Contribution]:
    rows = [Contribution(group, base.get(group, (0.0, 0))[0], candidate.get(group, (0.0, 0))[0],
                         base.get(group, (0.0, 0))[1], candidate.get(group, (0.0, 0))[1])
            for group in dict.fromkeys(list(base) + list(candidate))]
    return sorted(rows, key=lambda r: -abs(r.difference_us))


def _inside_loops(profile: GraphProfile, scale: float) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for node in profile.nodes:
        if node.nested:
            entry = found.setdefault(node.op_type, [0.0, 0])
            entry[0] += node.median_us * scale
            entry[1] += 1
    return dict(sorted(found.items(), key=lambda item: -item[1][0]))


def attribute(kind: str, baseline: str, candidate: str, base: GraphProfile, cand: GraphProfile,
              base_sources: dict[str, str] | None = None, cand_sources: dict[str, str] | None = None,
              grouping: str = "source module") -> Attribution:
    """Split cand's latency minus base's by operator type and by source (node name -> source, per side; or
    any other grouping `grouping` names, as operator families for two vocabularies)."""
    splits = (split_run(base), split_run(cand))
    scales = [node_us / profile.node_sum_us if profile.node_sum_us else 1.0
              for (node_us, _), profile in zip(splits, (base, cand))]
    by_op = _contributions(_grouped(base, lambda n: n.op_type, scales[0]), _grouped(cand, lambda n: n.op_type, scales[1]))
    by_source = _contributions(
        _grouped(base, lambda n: (base_sources or {}).get(n.name, n.op_type), scales[0]),
        _grouped(cand, lambda n: (cand_sources or {}).get(n.name, n.op_type), scales[1]))
    outside = Contribution(OUTSIDE, splits[0][1], splits[1][1], len(_top_level(base)), len(_top_level(cand)))
    notes = []
    for side, profile, factor in (("baseline", base, scales[0]), ("candidate", cand, scales[1])):
        if abs(profile.coverage - 1) > COVERAGE_TOLERANCE:
            notes.append(f"{side}: profiled node time {profile.node_sum_us:.0f} µs is {100 * profile.coverage:.0f} % of "
                         f"its unprofiled latency {profile.latency_us:.0f} µs (profiled run {profile.profiled_run_us:.0f} "
                         f"µs): node times scaled by {factor:.2f}")
    loops = {side: found for side, found in (("baseline", _inside_loops(base, scales[0])),
                                               ("candidate", _inside_loops(cand, scales[1]))) if found}
    return Attribution(kind, baseline, candidate, base.latency_us, cand.latency_us, by_op, by_source, outside,
                       (base.coverage, cand.coverage), notes, grouping, loops)
