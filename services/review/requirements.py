"""Names of the requirements a dossier's documents were uploaded for, for the expert's pages.

The requirement catalogue belongs to the documents service; packets reach review with each
document's requirement id only. Like intake, review keeps the ids and labels of the items
applicants upload (labels are msgids of review's page catalogue) so an expert reads "自评报告"
rather than `self-evaluation`. A requirement id review does not know is shown as it is.
"""

from __future__ import annotations


def N_(msgid: str) -> str:
    return msgid


# Mirrors the documents service's catalogue (quality-award-2025), applicant-provided items,
# and the recommender's documents that travel with a packet.
LABELS: dict[str, dict[str, str]] = {
    "organisation": {
        "application-form": N_("Application form"),
        "overview": N_("Organisation overview"),
        "self-evaluation": N_("Self-evaluation report"),
        "self-evaluation-table": N_("Self-evaluation score table"),
        "business-licence": N_("Business licence or legal-person certificate"),
        "financials": N_("Audited accounts of the last three years"),
        "evidence": N_("Supporting evidence"),
        "no-accident": N_("No major accident in three years (proof or statement)"),
        "compliance": N_("Compliance certificates (environment, safety, tax)"),
        "publicity-proof": N_("Proof of internal publicity"),
        "commitment": N_("Authenticity pledge (with the no-state-secret statement)"),
        "trade-secret-list": N_("Trade-secret declaration"),
    },
    "individual": {
        "application-form": N_("Application form (signed)"),
        "personal-statement": N_("Personal statement of quality work"),
        "evidence": N_("Achievements and evidence"),
        "employer-opinion": N_("Employer's opinion (sealed)"),
        "publicity-proof": N_("Proof of internal publicity"),
        "commitment": N_("Authenticity pledge"),
    },
}


def label_of(kind: str, requirement: str | None) -> str | None:
    """The msgid naming `requirement` for an applicant of `kind`, or None when unknown."""
    return LABELS.get(kind, {}).get(requirement or "")
