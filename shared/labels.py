"""Words for the codes the services store: one registry, zh-CN and en, used by pages and messages.

`label(group, code, lang)` names a stage, status, relation, kind, inspection hint, audit action
or role in the reader's language; a code the registry does not know comes back as a neutral
word of its group ("其他操作", "其他情况"), never as the code itself, so a new code added by one
service cannot leak into Chinese text. `unit_name` turns a recommending unit's code into its
name from the unit list the operator keeps (`DOSSIER_INTAKE_UNITS_FILE`), and `cycle_name`
turns a cycle's code into words when its own title is not at hand.

The same words are the product's glossary (`docs/glossary.md`); `GLOSSARY` is its
machine-readable form and a test keeps the two in agreement. Pages use the registry through the
`label`, `unit_name` and `cycle_name` Jinja filters `shared.web.pages` installs; notify's
message templates get the same filters in their sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

Words = tuple[str, str]  # (zh-CN, en)

# A code of a group the registry has no word for.
FALLBACK: dict[str, Words] = {
    "action": ("进行了其他操作", "did something else"),
    "default": ("其他", "other"),
}

LABELS: dict[str, dict[str, Words]] = {
    "stage": {
        "material": ("材料评审", "Material review"),
        "on-site": ("现场评审", "On-site review"),
        "defence": ("陈述答辩", "Defence"),
    },
    "application_status": {
        "draft": ("草稿", "Draft"),
        "submitted": ("已提交", "Submitted"),
        "returned": ("已退回修改", "Returned for changes"),
        "recommended": ("已推荐", "Recommended"),
        "accepted": ("已受理", "Accepted"),
        "rejected": ("不予受理", "Not accepted"),
    },
    "check_status": {
        "met": ("符合", "Met"),
        "missing": ("缺少", "Missing"),
        "invalid": ("不符合", "Invalid"),
        "attention": ("需人工核对", "Needs checking"),
        "pending": ("检查中", "Being inspected"),
    },
    "assignment_status": {
        "active": ("有效", "Active"),
        "proposed": ("待确认替补", "Proposed replacement"),
        "ended": ("已结束", "Ended"),
    },
    "publicity_status": {
        "open": ("公示中", "Open for objections"),
        "closed": ("已结束", "Ended"),
    },
    "objection_status": {
        "open": ("待处理", "Open"),
        "upheld": ("异议成立", "Upheld"),
        "dismissed": ("异议不成立", "Dismissed"),
    },
    "kind": {
        "organisation": ("组织", "Organisation"),
        "individual": ("个人", "Individual"),
    },
    "list_kind": {
        "acceptance": ("受理名单", "Acceptance list"),
        "recommendation": ("拟表彰名单", "Recommendation list"),
        "final": ("最终名单", "Final list"),
    },
    "tier": {
        "award": ("市长质量奖", "Mayor's Quality Award"),
        "nomination": ("市长质量奖提名奖", "Mayor's Quality Award nomination"),
    },
    "unit_kind": {
        "county": ("县级市场监管部门", "County market regulator"),
        "zone": ("管委会", "Zone committee"),
        "industry": ("市级行业主管部门", "City industry authority"),
    },
    "relation": {
        "same-organisation": ("同一单位（含同一统一社会信用代码）",
                              "Same organisation or legal entity"),
        "former-employment": ("近年曾在申报单位任职", "Former employment or board seat"),
        "ownership": ("控股、实际控制或投资关系", "Ownership or investment relationship"),
        "relative": ("近亲属关系", "Close relative"),
        "adviser": ("咨询、检测、代写等有偿服务关系", "Paid adviser or service provider"),
        "dispute": ("存在法律纠纷", "Legal dispute"),
        "nominator": ("推荐或提名该申报者", "Nominated or recommended the applicant"),
        "competitor": ("直接竞争关系", "Direct competitor"),
        "other": ("其他可能影响公正的关系", "Other relationship that could affect impartiality"),
    },
    "recusal_source": {
        "detected": ("系统检测发现", "Detected"),
        "operator": ("工作人员登记", "Recorded by the operator"),
        "applicant": ("申报者申请回避", "Requested by the applicant"),
        "expert": ("专家本人申报", "Declared by the expert"),
        "declared": ("专家本人申报", "Declared by the expert"),
    },
    "revocation_ground": {
        "fraud": ("弄虚作假或以不正当手段获奖", "Fraud or improper means"),
        "accident": ("发生重大质量、安全、环境事故", "Major quality, safety or environmental "
                     "accident"),
        "misuse": ("违规使用标志或拒不履行义务", "Misuse of the mark or refusal of duties"),
        "violation": ("其他严重违法违规行为", "Other serious violation"),
    },
    "hint": {
        "docx.pages_from_properties": ("页数取自文档属性，可能与实际页数不同",
                                       "Page count taken from the document's properties"),
        "docx.properties_unreadable": ("文档属性无法读取", "Document properties unreadable"),
        "pdf.details_truncated": ("文件过大，只检查了部分内容",
                                  "Only part of the file was checked"),
        "pdf.encrypted_opens_without_password": ("文件设有权限加密，但无需密码即可打开",
                                                 "Encrypted, but opens without a password"),
        "pdf.outline_unreadable": ("书签目录无法读取", "Bookmarks unreadable"),
        "pdf.page_count_mismatch": ("页数与文件声明不一致", "Page count differs from what the "
                                    "file declares"),
        "pdf.read_by_fallback": ("文件结构有误，已用备用方式读取", "Read by the fallback reader"),
        "pdf.repaired": ("文件结构有误，已自动修复", "Repaired on reading"),
        "pdf.structure_unreadable": ("文件结构无法读取", "File structure unreadable"),
        "pdf.text_out_of_time": ("文字提取超时，未能检查全部文字",
                                 "Text extraction ran out of time"),
        "pdf.text_unreadable": ("文字无法提取（可能为扫描件）",
                                "Text could not be extracted (perhaps a scan)"),
        "pdf.text_unreadable_pages": ("部分页面文字无法提取", "Text of some pages unreadable"),
        "pdf.encrypted": ("文件加密，无法打开", "Encrypted, cannot be opened"),
    },
    "role": {
        "applicant": ("申报者", "Applicant"),
        "recommender": ("推荐单位", "Recommending unit"),
        "operator": ("市市场监管局工作人员", "Award office"),
        "expert": ("评审专家", "Expert"),
        "supervisor": ("监督组成员", "Supervision group member"),
        "admin": ("系统管理员", "Administrator"),
        "system": ("系统", "The system"),
    },
    # What a person did, as a verb phrase: "张三 受理了 …的申报".
    "action": {
        "account.registered": ("注册了账号", "registered an account"),
        "account.invited": ("开设了账号", "opened an account"),
        "account.saved": ("保存了账号", "saved an account"),
        "account.password_set": ("设置了登录密码", "set a password"),
        "account.password_changed": ("修改了登录密码", "changed a password"),
        "account.signed_in": ("登录了系统", "signed in"),
        "account.signed_out_everywhere": ("退出了所有登录", "signed out everywhere"),
        "account.signin_failed": ("登录失败", "failed to sign in"),
        "account.signin_refused": ("被拒绝登录", "was refused sign-in"),
        "account.signin_locked": ("因多次登录失败被暂时锁定", "was locked after failed sign-ins"),
        "account.signin_throttled": ("登录过于频繁被限制", "was slowed down signing in"),
        "account.reset_requested": ("申请了重设密码", "asked to reset a password"),
        "account.reset_throttled": ("重设密码过于频繁被限制", "was slowed down asking for resets"),
        "account.token_created": ("创建了个人令牌", "created a personal token"),
        "account.token_revoked": ("撤销了个人令牌", "revoked a personal token"),
        "access.denied": ("被拒绝访问", "was denied access"),
        "cycle.created": ("设立了评选届次", "set up a cycle"),
        "cycle.updated": ("修改了评选届次", "changed a cycle"),
        "unit.created": ("添加了推荐单位", "added a recommending unit"),
        "unit.updated": ("修改了推荐单位", "changed a recommending unit"),
        "award_history.imported": ("导入了历年获奖记录", "imported the award history"),
        "waiver.recorded": ("登记了经营年限放宽", "recorded a waiver"),
        "application.created": ("创建了申报", "created an application"),
        "application.updated": ("修改了申报", "changed an application"),
        "application.publicity": ("登记了内部公示", "recorded the internal publicity"),
        "application.viewed": ("查阅了申报", "opened an application"),
        "document.uploaded": ("上传了材料", "uploaded a document"),
        "document.deleted": ("删除了材料", "deleted a document"),
        "document.confidentiality": ("修改了材料的密级", "changed a document's confidentiality"),
        "document.downloaded": ("下载了材料", "downloaded a document"),
        "document.page_viewed": ("查阅了材料页面", "viewed a document page"),
        "upload.started": ("开始上传材料", "started an upload"),
        "upload.part": ("上传了材料的一部分", "uploaded part of a document"),
        "upload.aborted": ("取消了上传", "cancelled an upload"),
        "inspection.reinspected": ("重新检查了材料", "re-inspected a document"),
        "packet.submitted": ("提交了申报", "submitted an application"),
        "packet.returned": ("退回了申报", "returned an application"),
        "packet.recommended": ("推荐了申报", "recommended an application"),
        "packet.accepted": ("受理了申报", "accepted an application"),
        "packet.rejected": ("不予受理申报", "did not accept an application"),
        "acceptance.published": ("公示了受理名单", "published the acceptance list"),
        "expert.created": ("添加了评审专家", "added an expert"),
        "expert.updated": ("修改了评审专家信息", "changed an expert"),
        "expert.deactivated": ("停用了评审专家", "deactivated an expert"),
        "expert.reactivated": ("恢复了评审专家", "reactivated an expert"),
        "expert.imported": ("导入了评审专家", "imported experts"),
        "conflict.recorded": ("登记了回避", "recorded a recusal"),
        "conflict.withdrawn": ("撤销了回避", "withdrew a recusal"),
        "panel.created": ("组建了评审组", "formed a panel"),
        "panel.updated": ("修改了评审组", "changed a panel"),
        "panel.assigned": ("分配了评审任务", "assigned reviews"),
        "assignment.job_started": ("在后台启动了评审任务分配",
                                   "started an assignment in the background"),
        "assignment.job_cancelled": ("取消了后台的评审任务分配",
                                     "cancelled a background assignment"),
        "assignment.confirmed": ("确认了替补专家", "confirmed a replacement"),
        "dossier.listed": ("查看了评审任务", "listed review assignments"),
        "dossier.viewed": ("查阅了申报材料", "opened an application's material"),
        "dossier.acknowledged": ("作出了公正与保密承诺", "made the impartiality pledge"),
        "panel.pledged": ("作出了本评审阶段的公正与保密承诺",
                          "made the impartiality pledge for a review stage"),
        "dossier.downloaded": ("下载了申报材料", "downloaded an application's material"),
        "score.submitted": ("提交了评分", "submitted a score"),
        "score.draft_saved": ("暂存了评分", "saved a draft score"),
        "opinion.recorded": ("登记了征求意见", "recorded an opinion"),
        "list.published": ("公示了名单", "published a list"),
        "objection.received": ("提出了异议", "lodged an objection"),  # the actor is the objector
        "objection.reporter_read": ("查看了异议人身份", "read an objector's identity"),
        "objection.evidence_read": ("查看了异议证据", "read an objection's evidence"),
        "objection.investigating": ("开始调查异议", "began investigating an objection"),
        "objection.resolved": ("办结了异议", "resolved an objection"),
        "decision.made": ("登记了表彰决定", "recorded the decision"),
        "certificate.issued": ("出具了证书", "issued a certificate"),
        "award.revoked": ("撤销了奖项", "revoked an award"),
        "award.recovery_recorded": ("登记了奖金追回", "recorded a recovery"),
        "notify.preferences": ("修改了通知设置", "changed notification settings"),
        "notify.retry": ("重发了通知", "retried a notification"),
        "ops.retry": ("重试了后台任务", "retried a background task"),
    },
    # What an audit record's target is: "application:…" → 申报.
    "target": {
        "application": ("申报", "application"),
        "document": ("材料", "document"),
        "version": ("材料版本", "document version"),
        "account": ("账号", "account"),
        "recipient": ("通知对象", "recipient"),
        "cycle": ("评选届次", "cycle"),
        "unit": ("推荐单位", "recommending unit"),
        "acceptance": ("受理名单", "acceptance list"),
        "waiver": ("经营年限放宽", "waiver"),
        "expert": ("评审专家", "expert"),
        "experts": ("评审专家", "experts"),
        "panel": ("评审组", "panel"),
        "assignment": ("评审任务", "assignment"),
        "conflict": ("回避记录", "recusal"),
        "score": ("评分", "score"),
        "list": ("公示名单", "list"),
        "objection": ("异议", "objection"),
        "award": ("奖项", "award"),
        "upload": ("上传", "upload"),
        "task": ("后台任务", "background task"),
        "delivery": ("通知投递", "delivery"),
    },
}


def _lang_index(lang: str) -> int:
    return 1 if lang == "en" else 0


def label(group: str, code: object, lang: str = "zh-CN") -> str:
    """The word for `code` in `group`, in `lang`; a neutral word for a code nobody named."""
    if code is None or code == "":
        return ""
    words = LABELS.get(group, {}).get(str(code))
    if words is None and not str(code).isascii():
        return str(code)  # already words (a ground typed in Chinese, say), not a code
    if words is None:
        words = FALLBACK.get(group, FALLBACK["default"])
    return words[_lang_index(lang)]


def title_in(titles: object, lang: str = "zh-CN") -> str:
    """One language of a bilingual name ({zh-CN, en} or {zh, en}) from a data file."""
    if not isinstance(titles, dict):
        return str(titles or "")
    keys = ("en",) if lang == "en" else ("zh-CN", "zh")
    return next((str(titles[k]) for k in keys if titles.get(k)), "")


# Formats by what people call them, not by MIME type.
FORMATS = {"application/pdf": "PDF", "application/ofd": "OFD", "application/zip": "ZIP",
           "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
           "application/msword": "DOC", "image/jpeg": "JPEG", "image/png": "PNG",
           "text/plain": "TXT", "text/csv": "CSV"}


def format_name(content_type: object) -> str:
    """"PDF" for application/pdf; a format nobody named is given by its subtype in capitals."""
    text = str(content_type or "").split(";")[0].strip().lower()
    if not text:
        return ""
    return FORMATS.get(text) or text.rsplit("/", 1)[-1].rsplit(".", 1)[-1].upper()[:8]


def knows(group: str, code: object) -> bool:
    return str(code) in LABELS.get(group, {})


@dataclass(frozen=True)
class UnitName:
    zh: str
    en: str


DEFAULT_UNITS_FILE = Path(__file__).resolve().parents[1] / "services/intake/data/units.yaml"


@cache
def _units(path: str | None) -> dict[str, UnitName]:
    raw = yaml.safe_load(Path(path or DEFAULT_UNITS_FILE).read_text(encoding="utf-8"))
    return {str(u["code"]): UnitName(u["name"], u.get("name_en") or u["name"])
            for u in raw.get("units", [])}


def unit_name(code: object, lang: str = "zh-CN", units_file: str | None = None) -> str:
    """A recommending unit's name; a code missing from the list is not shown as such."""
    if code is None or code == "":
        return ""
    try:
        unit = _units(units_file).get(str(code))
    except OSError:
        unit = None
    if unit is None:
        return "推荐单位" if lang != "en" else "the recommending unit"
    return unit.en if lang == "en" else unit.zh


def cycle_name(code: object, lang: str = "zh-CN") -> str:
    """A cycle in words when its title is not at hand: "2026 年度评选" for the code "2026"."""
    if code is None or code == "":
        return ""
    text = str(code)
    if lang == "en":
        return f"the {text} cycle" if text.isdigit() else "the cycle"
    return f"{text} 年度评选" if text.isdigit() else "本届评选"


def subject_name(name: object, kind: str = "application", lang: str = "zh-CN") -> str:
    """The name of an applicant or person, or a neutral word when only an id is known."""
    text = str(name or "").strip()
    if text:
        return text
    fallback = {"application": ("该申报", "the application"),
                "person": ("工作人员", "a member of staff")}.get(kind, ("", ""))
    return fallback[_lang_index(lang)]


# -- the glossary (docs/glossary.md): one row per term, with the words not to use ----------

@dataclass(frozen=True)
class Term:
    zh: str
    en: str
    avoid_zh: tuple[str, ...] = ()
    avoid_en: tuple[str, ...] = ()
    note: str = ""


# Words to avoid are checked against every zh-CN text of the catalogues and message templates
# unless they carry a note in brackets ("单位（指申报组织）"): those depend on the sense.
GLOSSARY: tuple[Term, ...] = (
    # The award and its cycle (Measures art. 1-4)
    Term("市长质量奖", "Mayor's Quality Award", note="第 4 条：奖项"),
    Term("市长质量奖提名奖", "Mayor's Quality Award nomination", ("提名奖项",),
         note="第 4 条：提名奖"),
    Term("评选届次", "award cycle", ("评选周期",), ("round",),
         note="每 3 年一届；页面显示届次名称（如 第三届忻州市市长质量奖），不显示代码"),
    # Who is who (art. 6-10, 16)
    Term("申报者", "applicant", ("申请人", "申报人", "申报主体"), note="组织或个人"),
    Term("组织", "organisation", ("单位（指申报组织）", "企业（泛指申报组织）"), ("company",),
         note="第 9 条：申报的组织；“单位”只用于推荐单位和专家的工作单位"),
    Term("个人", "individual", note="第 10 条"),
    Term("申报类别", "category (organisation or individual)", ("类型（指组织或个人）",), ("kind",)),
    Term("名称", "name (of an organisation)", ("姓名（指组织）",)),
    Term("姓名", "name (of a person)"),
    Term("推荐单位", "recommending unit", ("推荐机构",), ("recommending body",),
         note="第 7 条、第 14 条：县级市场监管部门、管委会或市级行业主管部门"),
    Term("工作单位", "employer (of an expert)", ("单位（指专家的工作单位）",)),
    Term("市市场监管局", "city market regulator (award office)",
         note="第 6 条；其人员为“市市场监管局工作人员”"),
    Term("监督组", "supervision group", note="第 16 条、第 25 条；其成员为“监督组成员”"),
    Term("评审专家", "expert", ("专家（单独作角色名）",)),
    Term("评审组", "panel"),
    Term("评审任务", "review assignment", ("%(n)s 对",), ("pair",),
         note="一位专家评审一份申报为一项评审任务"),
    # The process (art. 13-18)
    Term("申报", "application", ("申请（指申报）",), ("packet",)),
    Term("办件编号", "case number", ("申报 ID",), ("UUID",), note="人人可以引用的短编号"),
    Term("内部公示", "internal publicity", note="第 13 条：不少于 5 个工作日"),
    Term("形式审查", "formal review", ("形式审核",), note="第 15 条"),
    Term("受理", "accept (an application)", note="第 15 条"),
    Term("不予受理", "not accepted", ("拒绝受理",), ("rejected",)),
    Term("退回修改", "returned for changes", ("打回",)),
    Term("受理名单", "acceptance list", note="第 15 条"),
    Term("材料评审", "material review", ("material 阶段", "资料评审"), note="第 16 条"),
    Term("现场评审", "on-site review", ("on-site",), note="第 16 条"),
    Term("陈述答辩", "defence", ("答辩评审",), note="第 16 条"),
    Term("评审阶段", "review stage"),
    Term("征求意见", "opinions of authorities", note="第 17 条：公安、人社、生态环境等部门"),
    Term("拟表彰名单", "recommendation list", ("推荐名单", "拟授奖推荐名单"),
         note="第 17 条：全市公示不少于 5 个工作日"),
    Term("最终名单", "final list"),
    Term("公示", "publicity"),
    Term("公示中", "open for objections"),
    Term("已结束", "ended (a publicity, an assignment)", ("已终止（指公示）",)),
    Term("异议", "objection", note="第 25 条"),
    Term("异议成立", "objection upheld"),
    Term("异议不成立", "objection dismissed"),
    Term("表彰决定", "decision", note="第 18 条"),
    Term("证书", "certificate", note="第 19 条、第 29 条"),
    Term("证书核验", "certificate check", ("证书查验",)),
    Term("撤销奖项", "revocation", ("取消奖项",), note="第 26 条"),
    # Conflicts (art. 27, RECUSAL)
    Term("申报回避", "recusal declared by an expert", ("申请回避（指专家）",),
         note="专家主动申报"),
    Term("申请回避", "recusal requested by an applicant", ("申报回避（指申报者）",),
         note="申报者书面申请"),
    Term("回避事由", "ground of recusal"),
    Term("公正与保密承诺", "impartiality and confidentiality pledge", ("保密协议",)),
    # Material and checks (art. 15, 28)
    Term("申报材料", "application material"),
    Term("材料项", "requirement (of the catalogue)"),
    Term("商业秘密", "trade secret", note="第 15 条、第 28 条"),
    Term("符合", "met"),
    Term("缺少", "missing", ("缺 %(missing)s", "缺失（指材料项）")),
    Term("不符合", "invalid", ("不合格",)),
    Term("需人工核对", "needs checking", ("需关注", "待核"), ("needs attention",),
         note="检查无法自动判定、须由人核对的一项"),
    Term("评分", "score"),
    Term("得分", "points", ("总分:",), note="写作“总分 715 分（满分 1000 分）”"),
    # The product
    Term("北京时间", "Beijing time", ("UTC",), note="页面、消息、水印都用北京时间"),
    Term("审计日志", "audit log", ("操作日志",)),
    Term("原始记录", "raw record"),
)
