"""manage.py import_yaml PATH [PATH ...]: load news items and taxonomy files.

Thin: arguments, progress and the summary. The work is in articles.ingest.importer.
The run's summary is said once: printed here at verbosity 1 and more (someone reads
it), logged on `newsroom.import` by the importer at verbosity 0 (the scheduled runs
of docs/deploy.md, whose log readers get one record per run with its ImportRun id).
"""

import shlex
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from articles.ingest.importer import Importer, Terminated, failure_reason

PROGRESS_MIN_FILES = 200
DEFAULT_BATCH_SIZE = 250


class Command(BaseCommand):
    help = (
        "Import news items (Markdown with YAML front matter, or .yaml/.yml) and topic/tag "
        "taxonomy files from files, directories (recursively) and globs. Items are matched by "
        "webUrl; fields an editor changed since the last import are kept and reported as "
        "conflicts. Each batch is one transaction and a file that fails leaves nothing behind. "
        "Exit status 1 when any file failed."
    )
    missing_args_message = "Give at least one file, directory or glob to import."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files, directories or glob patterns.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Parse, validate and report what would be created, updated or in conflict; "
            "write nothing (not even the ImportRun record).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Files per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processes parsing files (default: up to 2; 1 parses in this process).",
        )

    def handle(self, *args, **options):
        paths = options["paths"]
        verbosity = options["verbosity"]
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be 1 or more.")
        show_progress = verbosity >= 1 and self.stdout.isatty()
        importer = Importer(
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            workers=options["workers"],
            command=_command_line(options),
            progress=self._progress if show_progress else None,
            log_summary=verbosity < 1,
        )
        self._progress_shown = False
        try:
            with _sigterm_raises():
                report = importer.run(paths)
        except BaseException as exc:  # noqa: BLE001 - any end of the run, Ctrl-C included
            # The run recorded itself as failed (or logged why it could not): one line
            # and exit status 1, never a traceback.
            if self._progress_shown:
                self.stdout.write("")
            self.stderr.write(f"import failed: {failure_reason(exc)}")
            raise SystemExit(1) from None
        if self._progress_shown:
            self.stdout.write("")

        if verbosity >= 2:
            for action, path in report.actions:
                self.stdout.write(f"{action:>10}  {path}")
        if verbosity >= 2 or (verbosity >= 1 and len(report.warnings) <= 20):
            for warning in report.warnings:
                self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        elif verbosity >= 1 and report.warnings:
            self.stdout.write(
                self.style.WARNING(f"{len(report.warnings)} warnings (use -v 2 to list them)")
            )
        if verbosity >= 1:
            for conflict in report.conflicts:
                self.stdout.write(
                    self.style.NOTICE(
                        f"conflict: {conflict['path']}: {conflict['field']}: kept the editor's "
                        f"{_short(conflict['ours'])}, file has {_short(conflict['theirs'])}"
                    )
                )
        for failure in report.failures:
            self.stderr.write(self.style.ERROR(f"failed: {failure['error']}"))

        prefix = (
            "Dry run, nothing written: would be "
            if options["dry_run"]
            else f"Import {report.run.pk}: "
        )
        line = prefix + report.summary() + f" ({report.files} files)"
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(line) if report.ok else self.style.ERROR(line))
        if not report.ok:
            # CommandError: one line on stderr and exit status 1, never a traceback.
            raise CommandError(f"{report.failed} of {report.files} files failed to import.")

    def _progress(self, done, total):
        if total < PROGRESS_MIN_FILES:
            return
        width = 30
        filled = int(width * done / total) if total else width
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stdout.flush()
        self._progress_shown = True


class _sigterm_raises:
    """While the import runs, SIGTERM (systemd stop, kill) raises Terminated in it.

    The default action would end the process on the spot, leaving the run
    "running"; as an exception it ends the run the way Ctrl-C does: marked failed,
    the current batch rolled back. Only the main thread can set a handler.
    """

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _raise(signum, frame):
        raise Terminated("terminated by SIGTERM")


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _command_line(options) -> str:
    """What was asked, as a command line, for the ImportRun (built from the options, not
    sys.argv, which under call_command or a web server is some other program's)."""
    words = ["import_yaml"]
    if options["dry_run"]:
        words.append("--dry-run")
    if options["batch_size"] != DEFAULT_BATCH_SIZE:
        words += ["--batch-size", str(options["batch_size"])]
    if options["workers"] is not None:
        words += ["--workers", str(options["workers"])]
    return shlex.join([*words, *options["paths"]])
