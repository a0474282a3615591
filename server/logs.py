"""Log levels cellmeet sets for the libraries it uses."""

from __future__ import annotations

import logging

# Libraries that narrate their work at INFO: WeasyPrint logs each rendering step of every PDF
# ("weasyprint.progress": "Step 1 - Fetching and parsing HTML" ...), fontTools its font subsetting.
# Only their warnings and errors reach cellmeet's log.
QUIET_LIBRARIES = ("weasyprint", "fontTools")


def quiet_libraries() -> None:
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
