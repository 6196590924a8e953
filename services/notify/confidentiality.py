"""What a notification may never carry: trade secrets, document contents, identity numbers,
an objection reporter's identity.

Producers already keep these out of payloads (docs/events.md); this is the second wall, so a
producer's mistake or an operator's template cannot put them into an e-mail or a webhook.
"""

from __future__ import annotations

from typing import Any

# Keys dropped wherever they appear in a payload, at any depth.
FORBIDDEN_KEYS = frozenset({
    "reporter", "reporter_name", "reporter_contact", "reporter_phone", "reporter_email",
    "reporter_id", "reporter_subject", "complainant", "contact", "phone",
    "secret_pages", "documents", "text", "content", "excerpt", "object_key", "object_version",
    "sha256", "id_number", "id_index", "identity_number", "credit_code", "employer_credit_code",
    "related", "legal_representative", "applicant", "audience", "password",
})

# The only fields of a payload a webhook receiver gets besides the rendered message: ids it
# can use to look things up through the API with its own credentials.
REFERENCE_KEYS = ("cycle", "application_id", "list_id", "objection_id", "report_id", "stage",
                  "status", "deadline", "starts_on", "ends_on", "due_on", "kind")


# Even the name of a trade-secret file can give the secret away ("新型密封工艺配方.pdf"), and
# e-mail crosses servers we do not control: such a file is never named.
NAMING_KEYS = frozenset({"filename", "title", "name"})


def safe_context(payload: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `payload` without any forbidden key."""
    secret = payload.get("confidentiality") == "trade-secret"
    return {k: _clean(v) for k, v in payload.items()
            if k not in FORBIDDEN_KEYS and not (secret and k in NAMING_KEYS)}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return safe_context(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def references(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: payload[k] for k in REFERENCE_KEYS
            if k in payload and isinstance(payload[k], str | int | bool | None)}
