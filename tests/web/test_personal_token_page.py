"""A person makes and revokes a personal API token on their account page in Chromium: the token
is shown once, the page passes axe in both languages and at 360 px, and the revoked token is
refused by the API at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from intake.flows import new_uscc
from pagewalk import inspect

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack
PASSWORD = "Qz7!river-lantern-93"


@pytest.mark.parametrize(("lang", "width"), [("zh-CN", 1280), ("en", 360)])
def test_a_person_makes_sees_once_and_revokes_a_token_on_the_account_page(
        stack: AppStack, http: requests.Session, open_page: Callable[..., Any], lang: str,
        width: int) -> None:
    code = new_uscc()
    r = http.post(f"{stack.public_url}/intake/api/register", timeout=10, json={
        "kind": "organisation", "name": "晋中示范装备有限公司", "credit_code": code,
        "email": "page@example.org", "password": PASSWORD})
    assert r.status_code == 201, r.text
    page = open_page("applicant", f"org-{code}", "晋中示范装备有限公司", lang=lang, width=width)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/intake/account")
    page.locator("#f-token_name").fill("本单位申报系统")
    page.locator("#f-token_days").select_option("30")
    page.locator("#tokens button[type=submit]").last.click()
    page.wait_for_load_state("load")
    token = page.locator("[data-new-token]").input_value()
    assert token.count(".") == 2  # a signed token, shown here
    assert inspect(page, lang=lang, narrow=width == 360) == []
    me = http.get(f"{stack.public_url}/intake/api/me", timeout=10,
                  headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["subject"] == f"org-{code}"

    page.goto("/intake/account")
    assert page.locator("[data-new-token]").count() == 0 and token not in page.content()
    page.locator("[data-token] button").click()
    page.wait_for_load_state("load")
    assert page.locator("[data-token] button").count() == 0
    assert inspect(page, lang=lang, narrow=width == 360) == []
    refused = http.get(f"{stack.public_url}/intake/api/me", timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "auth.personal_token_revoked"
