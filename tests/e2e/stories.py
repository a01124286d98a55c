"""The content the journeys use: demo stories (fixtures/news) by title, and the importer."""

import io

from django.core.management import call_command


def import_files(*paths):
    """Run the real `manage.py import_yaml` and return what it printed.

    Files are parsed in this process: with the live server's threads and the
    browser's event loop running, forking worker processes would be unwise.
    """
    out = io.StringIO()
    call_command("import_yaml", *map(str, paths), workers=1, stdout=out)
    return out.getvalue()


# In review after import (quality 61, heat unknown): the story the editor publishes.
CHIP = "Startup tapes out a 3nm inference chip built around on-die SRAM"
# Published, same topic: linked to CHIP as a related story.
RACKS = "Chipmakers race to ship liquid-cooled accelerator racks before year-end"
# Published by its file.
ALREADY_LIVE = (
    "Open-weight model family Lumen-3 tops reasoning benchmarks at a fraction of the compute"
)
# Still in review, with a word no published story has: must never be found by readers.
DRAFT = "Local farm co-op uses drones and image models to spot crop blight early"
DRAFT_WORD = "blight"

# Markup in imported text (both in review in the files): readers must see it as text.
HOSTILE_TITLE = (
    "Prompt-injection demo smuggles <script>alert(1)</script> into a support chatbot’s replies"
)
BOLD_EXCERPT_TITLE = "Translation startup open-sources its evaluation suite for 40 languages"

# What the editor sets on CHIP: quality 120 and a pinned heat of 145. Where that puts
# it in "Top" depends on its date as well (the reader's journey works it out).
CHIP_QUALITY = 120
CHIP_HEAT = 145
CHIP_NEW_TOPIC = "Machine Learning"
