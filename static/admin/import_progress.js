// The progress of an upload's preview or import (templates/admin/articles/importupload/preview.html),
// and the upload form's check of how many files were chosen (upload.html).
// Polls the upload's progress view every second and moves the bar; once the worker is done
// the page reloads to show the preview or the import run. Without JavaScript the page has a
// refresh link instead; the site's CSP allows no inline script, hence this file.
"use strict";

(function () {
  // The upload form: more files than a request may carry (Django answers such a request
  // with a bare 400 before any view runs) are refused here, in one line, before sending.
  const form = document.getElementById("import-upload-form");
  if (form) {
    const input = form.querySelector("input[type=file]");
    const most = Number(form.dataset.maxChosen);
    input.addEventListener("change", () => {
      const many = input.files.length > most;
      input.setCustomValidity(many ? `At most ${most} files one by one: put more in a zip.` : "");
      if (many) input.reportValidity();
    });
  }

  const box = document.getElementById("import-progress");
  if (!box) return;
  const bar = box.querySelector("progress");
  const text = box.querySelector(".import-progress-text");
  const started = box.dataset.status;

  function poll() {
    fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((progress) => {
        bar.value = progress.percent;
        bar.textContent = progress.percent + "%";
        text.textContent = progress.done + " of " + progress.total + " files";
        if (progress.status !== started) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(() => window.setTimeout(poll, 5000));
  }

  window.setTimeout(poll, 1000);
})();
