"""Terminal rendering of the `aibench env` document."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table


def _kv_table(title: str, rows: list[tuple[str, object]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", expand=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, "—" if value is None else str(value))
    return table


def _system_table(system: dict) -> Table:
    governors = system["cpu_governors"]
    rows = [
        ("Python", f"{system['python']} ({system['python_executable']})"),
        ("OS", system["os"]),
        ("CPU", f"{system['cpu_model']} ({system['machine']})"),
        ("Cores", f"{system['physical_cores']} physical, {system['logical_cores']} logical, "
                  f"{system['usable_cpus']} usable by this process"),
        ("Memory", f"{system['memory_total_gib']} GiB total, {system['memory_available_gib']} GiB available"),
        ("CPU governor", ", ".join(governors) if governors else "not readable (no cpufreq)"),
    ]
    rows += [(f"${name}", value) for name, value in system["env_vars"].items()]
    return _kv_table("System", rows)


def _gpu_table(gpu: dict) -> Table:
    if not gpu["gpus"]:
        return _kv_table("GPUs", [("NVML", gpu.get("reason") or "no GPU found")])
    table = Table(title=f"GPUs (driver {gpu['driver_version']}, CUDA {gpu['cuda_driver_version']})",
                  title_justify="left")
    for column in ("#", "name", "memory", "compute capability"):
        table.add_column(column)
    for device in gpu["gpus"]:
        table.add_row(str(device["index"]), device["name"],
                      f"{device['memory_total_mib']} MiB", device["compute_capability"])
    return table


def _package_table(packages: dict, ort: dict) -> Table:
    table = Table(title="Packages (from metadata; nothing imported)", title_justify="left")
    table.add_column("package", style="bold")
    table.add_column("version")
    table.add_column("distribution")
    install = ort["install"]
    for dist in install["distributions"]:
        if dist["alias"]:
            note = "aibench alias → onnxruntime-gpu (no files)"
        elif dist["owns_files_on_disk"]:
            note = f"{dist['name']} — files on disk ({install['build']} build)"
        else:
            note = f"[red]{dist['name']} — files on disk are NOT this build's[/red]"
        table.add_row("onnxruntime", dist["version"], note)
    if not install["distributions"]:
        table.add_row("onnxruntime", "[red]not installed[/red]", "")
    for name, info in packages.items():
        if info is None:
            table.add_row(name, "[dim]not installed[/dim]", "")
        else:
            table.add_row(name, info["version"], info["distribution"] if info["distribution"] != name else "")
    return table


def _provider_table(ort: dict) -> Table | Panel:
    probe = ort["probe"]
    if probe.get("probe_failed") or not probe.get("import_ok"):
        reason = probe.get("probe_failed") or probe.get("import_error") or probe.get("probe_error")
        return Panel(f"[red]onnxruntime cannot be used: {reason}[/red]", title="ONNX Runtime providers")
    table = Table(
        title=f"ONNX Runtime {probe['version']} providers (listed by get_available_providers(); "
              "'loads' = a session with that provider alone kept it and ran)",
        title_justify="left",
    )
    table.add_column("provider", style="bold")
    table.add_column("loads")
    table.add_column("reason when not")
    for entry in probe.get("providers", []):
        loads = "[green]yes[/green]" if entry["loads"] else "[red]no[/red]"
        reason = entry["reason"] or ""
        if entry.get("hint"):
            reason += f"\n[dim]{entry['hint']}[/dim]"
        table.add_row(entry["provider"], loads, reason)
    preload = probe.get("cuda_preload")
    if preload:
        said = "; ".join(preload.get("messages") or []) or "no complaints"
        table.caption = (f"CUDA/cuDNN from pip packages preloaded (onnxruntime.preload_dlls): {said}"
                         if preload.get("attempted") else f"CUDA/cuDNN libraries not preloaded: {preload['reason']}")
    return table


def _framework_table(frameworks: dict) -> Table:
    table = Table(title="Frameworks (each imported in its own process)", title_justify="left")
    for column in ("framework", "version", "devices", "GPU", "import s"):
        table.add_column(column)
    for name, info in frameworks.items():
        if not info.get("ok"):
            table.add_row(name, "", f"[red]{info.get('error')}[/red]", "", str(info.get("import_and_probe_s", "")))
            continue
        table.add_row(name, info["version"], "\n".join(info["devices"]),
                      "yes" if info["cuda_available"] else "no", str(info["import_and_probe_s"]))
    return table


def render_environment(document: dict, console: Console) -> None:
    parts: list = [
        _system_table(document["system"]),
        _gpu_table(document["gpu"]),
        _package_table(document["packages"], document["onnxruntime"]),
        _provider_table(document["onnxruntime"]),
    ]
    if document.get("frameworks"):
        parts.append(_framework_table(document["frameworks"]))
    console.print(Group(*parts))
    for warning in document["warnings"]:
        console.print(Panel(warning, title="WARNING", style="bold red"))
