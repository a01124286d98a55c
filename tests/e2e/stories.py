"""The demo stories (fixtures/news) the journeys use, by title."""

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

# What the editor sets on CHIP. Heat 145 puts it third in "Top": after the stories
# with heat 171 and 150, before the one with 140.
CHIP_QUALITY = 120
CHIP_HEAT = 145
CHIP_NEW_TOPIC = "Machine Learning"
