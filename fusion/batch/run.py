"""`emofuse analyze` in batch mode: find the inputs, skip what is done, analyse the rest (here, on
`--jobs` worker processes or on a Dask cluster), keep the journal, write the index, say what failed.

Batch mode is on for folders, globs, URLs, `--from`, `--jobs`, `--cluster`, `--timeout-per-file`
and `--force`; plain file arguments alone keep the one-after-the-other loop of `emofuse analyze`.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from emofuse.errors import EmofuseError

from .index import INDEX, INDEX_COLUMNS, IndexFile, write_index  # noqa: F401 - re-exported
from .inputs import has_magic, is_url
from .work import FileTask, Job, analyse_one


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """The batch flags of `emofuse analyze`."""
    from emofuse.cli.options import positive_float

    g = parser.add_argument_group("many files (batch mode: outputs mirror the inputs' tree under -o DIR/, "
                                  "a rerun skips what is done)")
    g.add_argument("--from", dest="from_list", metavar="LIST",
                   help="also analyse the files, folders or globs listed in LIST, one a line "
                        "(# comments; relative to LIST's folder)")
    g.add_argument("--jobs", type=jobs_value, metavar="N|auto",
                   help="analyse N files at a time in worker processes, each loading the models once "
                        "with one thread each ('auto': the cores available). Default: one at a time, here")
    g.add_argument("--cluster", metavar="ADDRESS",
                   help="send the files to a Dask scheduler (tcp://HOST:8786; default $EMOFUSE_CLUSTER); "
                        "its workers read the inputs and write the outputs on shared storage")
    g.add_argument("--timeout-per-file", type=positive_float, metavar="SECONDS",
                   help="give up a file that takes longer (it fails; the others go on)")
    g.add_argument("--force", action="store_true",
                   help="analyse every input again, even those whose outputs are complete")


def jobs_value(text: str) -> int:
    """--jobs: a positive whole number, or 'auto' (the cores this process may use)."""
    if text.strip().lower() == "auto":
        from .local import available_cores

        return available_cores()
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of worker processes or 'auto', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def wants_batch(args: argparse.Namespace) -> bool:
    """True when the command line asks for batch mode (see the module doc)."""
    if args.from_list or args.jobs or args.cluster or args.timeout_per_file or args.force:
        return True
    # one URL on its own is one file, like a path; several go through the batch
    return any((is_url(a) and len(args.inputs) > 1) or Path(a).is_dir() or (has_magic(a) and not Path(a).exists())
               for a in args.inputs)


def run_batch(args: argparse.Namespace, options) -> int:
    """Run the batch that `args` (the parsed `emofuse analyze` line) describes; the exit code:
    0 when every input is done (now or before), 1 when any failed."""
    from .cluster import cluster_address

    started = time.perf_counter()
    address = cluster_address(args.cluster, args.jobs)
    if args.cluster and args.jobs:
        raise EmofuseError("--jobs is for this machine; with --cluster the Dask workers set the parallelism")
    if not args.output:
        raise EmofuseError("batch analysis writes into a folder: add -o DIR/")
    batch = plan_batch(args, options)
    out = Path(batch.folder)
    say = _Say(args.quiet)
    if batch.skipped_media:
        say.note(f"{batch.skipped_media} files that are not media skipped")
    from .journal import Journal, make_record, remove_stale_parts, run_lock
    from .report import BatchProgress

    with run_lock(out) as workers_lock:
        journal = Journal(out)
        records = journal.load()
        tasks, done_before = [], {}
        for task in batch.tasks:
            if not args.force and _complete(records.get(task.source), batch.job.fingerprint, task):
                done_before[task.source] = records[task.source]["row"]
            else:
                tasks.append(task)
        remove_stale_parts(p for t in tasks for p in t.outputs.values())
        journal.rewrite(records.values())
        index = IndexFile(out / INDEX, batch.sources)
        for source, row in done_before.items():
            index.rows[source] = {**row, "status": "skipped"}
        index.write()
        say.start(len(tasks), len(done_before))
        progress = BatchProgress([t.source for t in tasks], enabled=not args.quiet and sys.stderr.isatty())
        try:
            with progress:
                say.progress = progress
                by_source = {t.source: t for t in tasks}
                for row in _execute(args, address, batch.job, tasks, workers_lock, say):
                    row.setdefault("attempts", 1)
                    if row["status"] == "done":
                        task = by_source[row["source"]]
                        record = make_record(task.source, batch.job.fingerprint, task.state,
                                             task.outputs.values(), row)
                        if record is not None:
                            journal.append(record)
                    index.set(row)
                    progress.finished(row)
                    say.row(row)
        finally:
            journal.close()
            index.close()
    rows = list(index.rows.values())
    failed = [r for r in rows if r["status"] not in ("done", "skipped")]
    say.end(rows, failed, out / INDEX, time.perf_counter() - started)
    return 1 if failed else 0


def _complete(record, fp: str, task: FileTask) -> bool:
    from .journal import is_complete

    return is_complete(record, fp, task.state, task.outputs.values())


@dataclasses.dataclass
class Batch:
    """A planned batch: the output folder, the inputs in order, a task per input, the job."""

    folder: str
    sources: list[str]
    tasks: list[FileTask]
    job: Job
    skipped_media: int


def plan_batch(args: argparse.Namespace, options) -> Batch:
    """Find the inputs and plan every output (all checked before anything is analysed)."""
    from emofuse import __version__
    from emofuse.cli.analyze_outputs import OutputPlan
    from emofuse.runner import PIPELINE_KINDS, Pipeline

    from .cluster import cluster_address
    from .inputs import find_inputs
    from .journal import fingerprint, input_state, model_hashes

    folders = [f for f in (args.output, args.plot, args.persons_sheet, args.annotate, args.html) if f]
    found = find_inputs(args.inputs, args.from_list, exclude=folders)
    if not found.sources:
        raise EmofuseError("no inputs: give files, folders or globs, or --from LIST")
    pipeline = Pipeline(options)
    plan = OutputPlan.make(found.sources, args.output, args.format, args.plot, pipeline.components["exporter"],
                           by=args.by, sheet=args.persons_sheet, annotate=args.annotate, html=args.html,
                           embed=args.embed, names=found.names)
    index = Path(os.path.abspath(args.output)) / INDEX
    roles = _roles(plan)
    for paths in roles.values():
        for source, path in paths.items():
            if Path(os.path.abspath(path)) == index:
                raise EmofuseError(f"{source} would write {path}, the batch's index; rename it or use "
                                   "another -o folder")
    kinds = [k for k in PIPELINE_KINDS if _used(k, options)]
    settings = {
        "emofuse": __version__, "options": _jsonable(options), "components": pipeline.describe(),
        "models": model_hashes(pipeline, kinds), "format": plan.exporter_name, "by": args.by, "embed": args.embed,
        "strict": args.strict,
    }
    empty = {field: {} for field in ("targets", "plots", "sheets", "annotated", "reports")}
    job = Job(options, dataclasses.replace(plan, **empty), pipeline.components, fingerprint(settings),
              strict=args.strict, single_thread=bool((args.jobs or 1) > 1 or cluster_address(args.cluster, args.jobs)))
    tasks = [FileTask(s, found.names[s], {role: str(Path(os.path.abspath(paths[s]))) for role, paths in roles.items()
                                          if s in paths}, _state(s, input_state))
             for s in found.sources]
    return Batch(str(Path(os.path.abspath(args.output))), found.sources, tasks, job, found.skipped)


def _state(source: str, input_state) -> list[int] | None:
    return None if is_url(source) else input_state(source)


def _roles(plan) -> dict[str, dict]:
    return {"timeline": plan.targets, "plot": plan.plots, "persons": plan.sheets, "annotated": plan.annotated,
            "report": plan.reports}


def _used(kind: str, options) -> bool:
    from emofuse.runner import AUDIO_KINDS, VIDEO_KINDS

    if kind in VIDEO_KINDS:
        return options.video and (kind != "face_embedder" or options.persons)
    if kind in AUDIO_KINDS:
        return options.audio
    return True


def _jsonable(options) -> dict:
    out = {}
    for field in dataclasses.fields(options):
        value = getattr(options, field.name)
        if field.name == "component_options":
            value = {kind: dict(opts) for kind, opts in value.items()}
        out[field.name] = value
    return out


def _execute(args, address: str | None, job: Job, tasks: list[FileTask], workers_lock, say) -> Iterator[dict]:
    if not tasks:
        return iter(())
    if address:
        from .cluster import run_on_cluster

        return run_on_cluster(address, job, tasks, args.timeout_per_file,
                              on_waiting=lambda: say.note(f"waiting for Dask workers to join {address}"))
    if args.jobs or args.timeout_per_file:
        from .local import LocalPool

        return LocalPool(job, args.jobs or 1, args.timeout_per_file, workers_lock=str(workers_lock)).run(tasks)
    return (analyse_one(job, task) for task in tasks)


class _Say:
    """What the batch tells the user on stderr: a line per file (quiet: failures only), above the
    progress bar when one shows, and the summary (quiet: only when something failed)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.count, self.todo = quiet, 0, 0
        self.progress = None  # a BatchProgress while the files run

    def _print(self, text: str) -> None:
        if self.progress is not None:
            self.progress.say(text)
        else:
            print(text, file=sys.stderr)

    def note(self, text: str) -> None:
        if not self.quiet:
            self._print(f"emofuse: {text}")

    def start(self, todo: int, done: int) -> None:
        if done:
            self.note(f"{done} of {todo + done} files already complete (use --force to redo them)")
        self.todo = todo

    def row(self, row: dict) -> None:
        self.count += 1
        for warning in row.get("warnings") or ():
            self._print(f"emofuse: warning: {row['name']}: {warning}")
        if row["status"] != "done":
            error = row["error"] if row["error"].startswith(row["source"]) else f"{row['source']}: {row['error']}"
            self._print(f"emofuse: error: {error}")
        elif not self.quiet:
            dominant = f", dominant {row['dominant']} {row['share']:.0%}" if row["dominant"] else ""
            self._print(f"[{self.count}/{self.todo}] {row['name']}: {row['segments']} segments{dominant} "
                        f"({row['seconds']:.1f} s)")

    def end(self, rows: list[dict], failed: list[dict], index: Path, wall: float) -> None:
        self.progress = None
        done = sum(r["status"] == "done" for r in rows)
        skipped = sum(r["status"] == "skipped" for r in rows)
        text = f"{len(rows)} files: {done} analysed, {skipped} already complete, {len(failed)} failed; index: {index}"
        if failed or not self.quiet:
            print(f"emofuse: {text}", file=sys.stderr)
        if not self.quiet:
            from .report import print_summary

            print_summary(rows, wall)
