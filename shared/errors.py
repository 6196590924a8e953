"""Typed errors with a stable machine code and a message in Chinese and English.

Domain code raises these; the HTTP layer (`shared.http`) turns them into problem+json. Codes are
part of the API contract: clients branch on `code`, people read `title`.
"""

from __future__ import annotations

from typing import Any

# Generic codes used by every service. Service-specific codes live beside the domain code that
# raises them, as DossierError subclasses or explicit zh/en texts.
MESSAGES: dict[str, tuple[int, str, str]] = {
    "auth.token_missing": (401, "缺少身份令牌，请先登录。", "A bearer token is required."),
    "auth.token_invalid": (401, "身份令牌无效，请重新登录或重新获取令牌。",
                           "The bearer token is not valid; sign in or get a new token."),
    "auth.token_expired": (401, "身份令牌已过期，请重新登录或重新获取令牌。",
                           "The bearer token has expired; sign in or get a new token."),
    "auth.account_disabled": (401, "该账号已停用，请联系评审办公室。",
                              "This account is disabled; contact the award office."),
    "auth.token_revoked": (401, "该账号已退出所有设备或更改了密码，此前的登录已失效，请重新登录。",
                           "This account was signed out everywhere or its password changed; "
                           "sign in again."),
    "auth.personal_token_revoked": (401, "该个人 API 令牌已被撤销或已过期，"
                                          "请在“我的账号”页面新建令牌。",
                                     "This personal API token was revoked or has expired; "
                                     "create a new one on your account page."),
    "auth.account_changed": (401, "该账号的角色或所属单位已变更，请重新登录。",
                             "This account's role or unit has changed; sign in again."),
    "auth.accounts_unavailable": (503, "暂时无法核验账号状态，请稍后重试。",
                                  "Account status cannot be checked right now; try again "
                                  "shortly."),
    "auth.forbidden": (403, "您的角色无权执行此操作。",
                       "Your role is not allowed to do this."),
    "http.not_found": (404, "未找到请求的资源。", "The requested resource was not found."),
    "http.method_not_allowed": (405, "此地址不支持该请求方法。",
                                "This method is not allowed on this address."),
    "http.body_too_large": (413, "请求内容超过允许的大小。",
                            "The request body is larger than allowed."),
    "http.malformed_json": (400, "请求体不是有效的 JSON。", "The request body is not valid JSON."),
    "http.json_too_deep": (400, "请求体中的 JSON 嵌套层数过多。",
                           "The JSON request body is nested too deeply."),
    "http.bad_encoding": (400, "请求中有文字不是有效的 UTF-8 编码。",
                          "The request contains text that is not valid UTF-8."),
    "http.unsupported_media_type": (415, "不支持的内容类型。", "Unsupported content type."),
    "http.bad_request": (400, "请求格式不正确。", "The request is malformed."),
    "http.conflict": (409, "请求与当前状态冲突。", "The request conflicts with the current state."),
    "validation.failed": (422, "提交的数据未通过校验，请检查标出的字段。",
                          "The submitted data failed validation; see the fields listed."),
    "service.unavailable": (503, "依赖的服务暂时不可用，请稍后重试。",
                            "A service this request depends on is unavailable; try again."),
    # A dependency down (shared.http maps the exceptions): 503 with Retry-After, never a 500.
    "dependency.object_store_unavailable": (
        503, "文件存储暂时无法访问，请稍后重试。您的材料不受影响。",
        "The file store is unreachable at the moment; try again shortly. Your files are safe."),
    "dependency.broker_unavailable": (
        503, "系统的消息服务暂时无法访问，请稍后重试。",
        "The system's message service is unreachable at the moment; try again shortly."),
    "dependency.database_unavailable": (
        503, "数据库暂时无法访问或正忙，请稍后重试。",
        "The database is unreachable or busy at the moment; try again shortly."),
    "internal.error": (500, "服务器内部错误，已记录，请稍后重试。",
                       "Internal server error; it has been logged."),
}


class DossierError(Exception):
    """An error a caller can act on. Subclasses set `code`, `status`, `zh` and `en` as defaults."""

    code: str = "http.bad_request"
    status: int = 400
    zh: str = ""
    en: str = ""

    def __init__(
        self,
        code: str | None = None,
        *,
        status: int | None = None,
        zh: str | None = None,
        en: str | None = None,
        detail: str | None = None,
        errors: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        self.code = code or self.code
        known = MESSAGES.get(self.code)
        self.status = status or (known[0] if known else type(self).status)
        self.zh = (zh or self.zh or (known[1] if known else self.code)).format(**params)
        self.en = (en or self.en or (known[2] if known else self.code)).format(**params)
        self.detail = detail
        self.errors = errors
        self.params = params
        super().__init__(f"{self.code}: {self.en}")

    def message(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def problem_errors(self) -> dict[str, Any] | list[Any] | None:
        """The problem body's `errors`: field → messages, or a list where a refusal names
        items (a batch's refused files)."""
        return self.errors


class NotFound(DossierError):
    """Also used where the truth is 'forbidden' but admitting existence would leak it."""

    code = "http.not_found"
    status = 404


class Concealed(NotFound):
    """A refusal that answers exactly like a missing thing (same status, code, texts and
    detail), for what exists but belongs to someone else: the caller learns nothing, while the
    HTTP layer writes the attempt to the audit log as a denied access to `target`."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target


class Forbidden(DossierError):
    code = "auth.forbidden"
    status = 403


class Conflict(DossierError):
    code = "http.conflict"
    status = 409


class Unavailable(DossierError):
    code = "service.unavailable"
    status = 503
