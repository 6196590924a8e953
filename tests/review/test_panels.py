"""Stages: a shortlist reviewed on site, stage scores combined by weight."""

from __future__ import annotations

from reviewstack import ReviewDriver

from services.review.programme import Programme


def _scores(share: float) -> dict[str, float]:
    items = Programme().rubric("organisation").items
    return {item: round(maximum * share, 2) for item, maximum in items.items()}


def test_a_later_stage_reviews_only_its_shortlist_and_stages_combine_by_weight(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    review.cycle_saved()
    first = review.accept("忻州一号", app_id=f"st1-{review.cycle}")
    second = review.accept("忻州二号", app_id=f"st2-{review.cycle}")
    review.wait_applications(2)
    experts = [review.expert(f"st{i}-{review.cycle}", f"评审{i}") for i in range(3)]
    pool = [e["id"] for e in experts]
    material = review.panel("material", 2, 2, pool, weight=1)
    r = http.post(f"{review.url}/panels", headers=op, json={
        "cycle": review.cycle, "stage": "on-site", "per_application": 2, "max_load": 1,
        "pool": pool, "weight": 3, "applications": ["nope"]})
    assert r.status_code == 422 and r.json()["code"] == "panel.applications_unknown"
    onsite = review.panel("on-site", 2, 1, pool, weight=3, applications=[first])
    for panel, share in ((material, 0.6), (onsite, 0.8)):
        r = http.post(f"{url}/panels/{panel['id']}/assign", headers=op)
        assert r.status_code == 201, r.text
        pairs = r.json()["items"]
        if panel is onsite:
            assert {p["application_id"] for p in pairs} == {first}
        for p in pairs:
            r = http.put(f"{url}/panels/{panel['id']}/scores/{p['application_id']}",
                         headers=review.auth("expert", p["expert_subject"]),
                         json={"items": _scores(share)})
            assert r.status_code == 200, r.text
    results = {r["application_id"]: r for r in
               http.get(f"{url}/cycles/{review.cycle}/results", headers=op).json()}
    assert results[first]["stages"] == {"material": 600, "on-site": 800}
    assert results[first]["score"] == 750  # (600·1 + 800·3) / 4
    assert results[first]["tier"] == "award"
    assert results[second]["score"] is None  # not shortlisted: no combined score
    assert results[second]["note"] == "not fully scored"
