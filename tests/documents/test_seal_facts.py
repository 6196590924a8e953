"""The worker records the seals of every page in the inspection facts (running stack)."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import requests
from events import Intake, new_application
from PIL import Image
from waiting import poll

from bench._seal_corpus import _stamp, official_seal
from dossier.localstack import AppStack

Auth = Callable[[str, str], dict[str, str]]
PPM = 150 / 25.4


def _sealed_scan_pdf() -> bytes:
    """Two scanned pages: the first blank, the second sealed at (150, 240) mm."""
    blank = np.full((round(297 * PPM), round(210 * PPM), 3), 250, np.uint8)
    sealed = blank.copy()
    ink, _ = official_seal(PPM, random.Random(11))
    _stamp(sealed, np.asarray(ink, np.float32) / 255, (210, 30, 40), 150 * PPM, 240 * PPM, 15.0)
    out = io.BytesIO()
    Image.fromarray(blank).save(out, format="PDF", save_all=True,
                                append_images=[Image.fromarray(sealed)], resolution=150)
    return out.getvalue()


@pytest.mark.stack
def test_an_uploaded_scan_gets_its_seals_recorded_per_page(
        stack: AppStack, http: requests.Session, auth: Auth) -> None:
    intake = Intake(stack)
    app = new_application("organisation")
    me = auth("applicant", app["owner"])
    entry = intake.upload(app, "commitment", "承诺书.pdf", _sealed_scan_pdf())

    def verdict() -> dict[str, Any] | None:
        r = http.get(f"{stack.url('documents')}/api/inspections/{entry['version_id']}",
                     headers=me)
        return r.json() if r.status_code == 200 else None

    facts = poll(verdict)["details"]["seals"]
    assert (facts["checked"], facts["complete"], facts["pages_checked"]) == (True, True, 2)
    [page] = facts["pages"]
    assert page["page"] == 2
    [seal] = page["seals"]
    assert seal["kind"] == "official"
    assert math.dist(seal["centre_mm"], (150, 240)) <= 5
