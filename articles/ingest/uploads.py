"""An admin upload's life: stored, previewed (a dry run), applied as previewed.

`store()` keeps the files' bytes and digests in the database (ImportUpload and its
ImportUploadFile rows) and queues the preview; the worker's `preview()` runs the
Importer as a dry run and writes each file's outcome on its row; `confirm()` queues
`apply()`, which runs the Importer for real on the same rows. The plan the editor saw
is what gets applied, or the difference is reported:

- a file whose bytes no longer match the digest taken at upload fails;
- a file whose article someone wrote since the preview (another `updated_at`, see
  `importer.article_state`) is a conflict and is not written: the Importer checks
  under the batch's row lock (`expected`), so no save slips in between.

Every outcome, and the rules for what a file may hold, are the command line's:
`sources.uploaded()` and the Importer, unchanged. The run ends in its ImportRun, whose
command says who uploaded how many files.
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from ..models import ImportRun, ImportUpload, ImportUploadFile
from .bulk import insert_rows, update_rows
from .importer import Importer, failure_reason
from .itemfile import FileError
from .sources import uploaded


def store(user, name: str, files: list[tuple[str, bytes]]) -> ImportUpload:
    """Keep `files` for `user` and queue their preview, in one transaction."""
    from ..tasks import preview_upload  # tasks imports the models this module uses

    with transaction.atomic():
        upload = ImportUpload.objects.create(uploaded_by=user, name=name, total=len(files))
        insert_rows(
            ImportUploadFile,
            [
                {
                    "upload": upload.pk,
                    "position": position,
                    "name": file_name,
                    "data": data,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "outcome": "",
                    "detail": {},
                }
                for position, (file_name, data) in enumerate(files)
            ],
        )
        upload.task_id = preview_upload.enqueue(upload.pk).id
        upload.save(update_fields=["task_id"])
    return upload


def preview(upload_id: int) -> str:
    """Dry-run the upload and record each file's outcome; returns the summary line."""
    upload = ImportUpload.objects.select_related("uploaded_by").filter(pk=upload_id).first()
    if upload is None:
        return "cancelled before its preview"
    files = list(upload.files.all())
    try:
        sources, errors = uploaded((f.name, bytes(f.data)) for f in files)
        report = Importer(dry_run=True, command=_command(upload)).run_sources(
            sources, errors=errors, asked=[upload.name]
        )
    except Exception as error:
        _fail(upload, error)
        raise
    outcomes = {
        file.pk: {"outcome": outcome.outcome.value, "detail": _detail(outcome)}
        for file, outcome in zip(files, _in_file_order(files, report.outcomes), strict=True)
    }
    with transaction.atomic():
        update_rows(ImportUploadFile, outcomes)
        ImportUpload.objects.filter(pk=upload.pk).update(status=ImportUpload.Status.PREVIEWED)
    return report.summary()


def confirm(upload: ImportUpload) -> bool:
    """Queue the import of a previewed upload; False if it is not waiting for that."""
    from ..tasks import apply_upload

    with transaction.atomic():
        waiting = ImportUpload.objects.filter(pk=upload.pk, status=ImportUpload.Status.PREVIEWED)
        if not waiting.update(status=ImportUpload.Status.APPLYING, done=0):
            return False
        task = apply_upload.enqueue(upload.pk)
        ImportUpload.objects.filter(pk=upload.pk).update(task_id=task.id)
    return True


def apply(upload_id: int) -> str:
    """Import the upload as previewed; its ImportRun's summary line."""
    upload = ImportUpload.objects.select_related("uploaded_by").get(pk=upload_id)
    files = list(upload.files.all())
    changed = [f for f in files if hashlib.sha256(f.data).hexdigest() != f.sha256]
    sources, errors = uploaded((f.name, bytes(f.data)) for f in files if f not in changed)
    errors += [
        FileError(
            f.name,
            "its bytes changed since the preview (its SHA-256 is not the one taken at upload)",
            expected="the file as previewed: upload it again",
        )
        for f in changed
    ]
    expected = {f.name: f.detail["seen"] for f in files if f.detail.get("seen")}

    def progress(done, total):
        ImportUpload.objects.filter(pk=upload.pk).update(done=done, import_run=importer.record.pk)

    importer = Importer(command=_command(upload), expected=expected, progress=progress)
    try:
        report = importer.run_sources(sources, errors=errors, asked=[upload.name])
    except BaseException as error:
        _fail(upload, error, importer.record)
        raise
    ImportUpload.objects.filter(pk=upload.pk).update(
        status=ImportUpload.Status.DONE, done=upload.total, import_run=report.run
    )
    return report.log_line()


def _command(upload: ImportUpload) -> str:
    return ImportRun.upload_command(upload.uploaded_by.get_username(), upload.total)


def _fail(upload: ImportUpload, error: BaseException, run: ImportRun | None = None):
    ImportUpload.objects.filter(pk=upload.pk).update(
        status=ImportUpload.Status.FAILED,
        failure_reason=failure_reason(error),
        import_run=run if run is not None and run.pk else None,
    )


def _in_file_order(files, outcomes):
    """The outcomes in the order of the rows they belong to (matched by name; of two
    files of the same name, the later one is the one "uploaded twice")."""
    by_name: dict[str, list] = {}
    for outcome in outcomes:
        by_name.setdefault(outcome.path, []).append(outcome)
    for queue in by_name.values():
        queue.sort(key=lambda o: o.error is not None and o.error.message == "uploaded twice")
    return [by_name[f.name].pop(0) for f in files]


def _detail(outcome) -> dict:
    detail = {"seen": outcome.seen} if outcome.seen else {}
    if outcome.changes:
        detail["changes"] = list(outcome.changes)
    if outcome.conflicts:
        detail["conflicts"] = [
            {key: c[key] for key in ("field", "ours", "theirs")} for c in outcome.conflicts
        ]
    if outcome.error is not None:
        detail["error"] = str(outcome.error)
    if outcome.warnings:
        detail["warnings"] = list(outcome.warnings)
    return detail
