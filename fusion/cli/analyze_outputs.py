"""Where `emofuse analyze` writes each input's timeline (and plot), always atomically."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from emofuse.atomic import atomic_output, check_writable
from emofuse.errors import EmofuseError
from emofuse.registry import Registry


def _is_folder(path: str) -> bool:
    return path.endswith(("/", "\\")) or Path(path).is_dir()


@dataclasses.dataclass(frozen=True)
class OutputPlan:
    """The exporter to use and the target of every input's timeline and plot."""

    exporter_name: str
    exporter: object
    targets: dict[str, Path]
    plots: dict[str, Path]
    sheets: dict[str, Path] = dataclasses.field(default_factory=dict)
    annotated: dict[str, Path] = dataclasses.field(default_factory=dict)
    reports: dict[str, Path] = dataclasses.field(default_factory=dict)
    embed: bool = False

    @classmethod
    def make(cls, inputs: list[str], output: str | None, fmt: str | None, plot: str | None,
             exporters: Registry, by: str = "segment", sheet: str | None = None, annotate: str | None = None,
             html: str | None = None, embed: bool = False, names: Mapping[str, str] | None = None) -> OutputPlan:
        """Where each input's files go. Every target is checked before any analysis: a name that
        contradicts the format, a file name for several inputs, a folder that cannot be written.
        `names` (a batch: input -> relative name without suffix, e.g. "season1/ep1") places the
        outputs in folders that mirror the inputs' tree, as for several inputs."""
        several = len(inputs) > 1 or names is not None
        by_suffix = {exporters.create(e.name).suffix.lower(): e.name for e in exporters}
        named = output if output and not _is_folder(output) else None
        if fmt is None:
            fmt = by_suffix.get(Path(named).suffix.lower(), "csv") if named else "csv"
        exporter = cls._exporter(exporters, fmt, by)
        why = ("with several inputs" if len(inputs) > 1
               else "in batch mode (--from, --jobs, --cluster, --timeout-per-file, --force)")
        for flag, where in (("-o", output), ("--plot", plot), ("--persons", sheet), ("--annotate", annotate),
                            ("--html", html)):
            if several and where and not _is_folder(where) and (Path(where).suffix or Path(where).exists()):
                raise EmofuseError(f"{where}: {why} {flag} must be a folder (one file per input); "
                                   f"end it with / to make a folder of that name")
        if named and not several:
            claimed = by_suffix.get(Path(named).suffix.lower())
            if claimed is not None and claimed != fmt:
                raise EmofuseError(f"{named}: the name says {claimed} but the format is {fmt}; "
                                   f"name it {Path(named).with_suffix(exporter.suffix).name} or drop --format")
        for flag, where in (("--plot", plot), ("--persons", sheet)):
            if where and not several and not _is_folder(where) and Path(where).suffix.lower() not in ("", ".png"):
                raise EmofuseError(f"{where}: {flag} draws a PNG image; give a name ending in .png")
        if embed and not html:
            raise EmofuseError("--embed puts the video inside the --html report: add --html REPORT")
        if html and not several and not _is_folder(html) and Path(html).suffix.lower() not in (".html", ".htm"):
            raise EmofuseError(f"{html}: --html writes a web page; give a name ending in .html")
        annotated = cls._place(inputs, annotate, ".annotated.mp4", several, names) if annotate else {}
        if annotated:
            from emofuse.annotate import check_source, check_target

            for source, where in annotated.items():
                check_target(where, inputs)
                check_source(source)
        reports = cls._place(inputs, html, ".html", several, names) if html else {}
        targets = cls._place(inputs, output, exporter.suffix, several, names)
        plots = cls._place(inputs, plot, ".png", several, names) if plot else {}
        sheets = cls._place(inputs, sheet, ".persons.png" if several else ".png", several, names) if sheet else {}
        checked: set[Path] = set()
        for path in (*targets.values(), *plots.values(), *sheets.values(), *annotated.values(), *reports.values()):
            if path not in checked:
                checked.add(path)
                check_writable(path)
        return cls(fmt, exporter, targets, plots, sheets, annotated, reports, embed)

    @staticmethod
    def _exporter(exporters: Registry, fmt: str, by: str):
        if by == "segment":
            return exporters.create(fmt)
        try:
            return exporters.create(fmt, by=by)
        except EmofuseError:
            raise EmofuseError(f"exporter {fmt!r} cannot write --by {by}; use csv, json or jsonl") from None

    @staticmethod
    def _place(inputs: list[str], where: str | None, suffix: str, several: bool,
               names: Mapping[str, str] | None = None) -> dict[str, Path]:
        if where and not several and not _is_folder(where):
            return {inputs[0]: Path(where)}
        folder = Path(where) if where else Path.cwd()
        placed: dict[str, Path] = {}
        seen: dict[Path, str] = {}
        for source in inputs:
            target = folder / ((names[source] if names else Path(source).stem) + suffix)
            if target in seen:
                raise EmofuseError(f"{seen[target]} and {source} would both write {target}; analyse them separately")
            seen[target] = source
            placed[source] = target
        return placed


def write_outputs(timeline, plan: OutputPlan, source: str, reporter=None) -> list[Path]:
    """Write the timeline (and its plot, sheet, annotated video, report) for `source`; each file
    appears whole or not at all. `reporter` (a ProgressReporter) shows the annotation's progress."""
    target = plan.targets[source]
    with atomic_output(target) as tmp:
        plan.exporter.write(timeline, tmp)
    written = [target]
    if source in plan.plots:
        from emofuse.plot import plot_timeline

        written.append(plot_timeline(timeline, plan.plots[source]))
    if source in plan.sheets:
        from emofuse.contact_sheet import draw_persons

        written.append(draw_persons(timeline, plan.sheets[source]))
    if source in plan.annotated:
        import contextlib

        from emofuse.annotate import annotate_video

        tracking = reporter.track(f"{Path(source).name} (drawing)") if reporter else contextlib.nullcontext()
        with tracking as progress:
            written.append(annotate_video(timeline, source, plan.annotated[source], progress=progress))
    if source in plan.reports:
        from emofuse.report import write_report

        # the report plays the annotated film when there is one
        film = {"video": plan.annotated[source]} if source in plan.annotated else {}
        written.append(write_report(timeline, plan.reports[source], embed=plan.embed, **film))
    return written
