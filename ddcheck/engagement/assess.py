"""Judge a scan against the engagement rules: survey kind per file, then ENG-01..ENG-20.

Each rule is judged once for the engagement (profile facts only, when a profile is
given) and once for every readable file (profile facts plus what the file shows:
its survey kind and its findings). An item whose decision used only profile facts is
an engagement-level item (the report's top-level ``engagement``); one that used what
a file shows goes in that file's ``engagement``. A file-level item that merely repeats
an engagement-level one (same rule, status and severity, no units of its own) is dropped.
"""

from __future__ import annotations

from typing import Any

from ddcheck.engagement.facts import Context, FileFacts
from ddcheck.engagement.profile import Profile
from ddcheck.engagement.rules import RuleSet, Verdict, judge, load_rules
from ddcheck.model import SEVERITY_RANK
from ddcheck.survey_kind import classify

STATUS_ORDER = {"applies": 0, "undetermined": 1, "compliant": 2}
MAX_UNITS = 25

KIND_LABELS = {
    "due_diligence": ("due-diligence request list", "尽职调查清单"),
    "vendor_security": ("vendor-security questionnaire", "供应商安全问卷"),
    "supply_chain": ("supply-chain questionnaire", "供应链问卷"),
    "market_survey": ("market survey", "市场调查问卷"),
    "social_survey": ("social survey", "社会调查问卷"),
    "other": ("questionnaire", "问卷"),
    "expert_interview": ("expert-call guide", "专家访谈提纲"),
}
ACTIVITY_LABELS = {
    "transaction_dd": ("transaction due diligence", "交易尽职调查"),
    "market_survey": ("market survey", "市场调查"),
    "social_survey": ("social survey", "社会调查"),
    "expert_interviews": ("expert-interview programme", "专家访谈项目"),
    "background_check": ("background check", "背景调查"),
    "vendor_security": ("vendor-security review", "供应商安全审查"),
    "supply_chain_audit": ("supply-chain audit", "供应链审核"),
    "other": ("exercise", "项目"),
}


def _placeholders(ctx: Context) -> dict[str, tuple[str, str]]:
    p = ctx.profile or Profile()
    if ctx.file is not None and ctx.file.kind and ctx.file.kind != "other":
        kind = KIND_LABELS[ctx.file.subkind or ctx.file.kind] if ctx.file.subkind in KIND_LABELS else KIND_LABELS[ctx.file.kind]
    elif p.activity:
        kind = ACTIVITY_LABELS[p.activity]
    else:
        kind = KIND_LABELS["other"]
    if p.scope == "multi_province":
        authority = ("NBS (the National Bureau of Statistics, as the survey spans provinces)", "国家统计局（跨省调查）")
    elif p.scope == "single_province":
        authority = ("the provincial statistics bureau (survey within one province)", "省级统计机构（省内调查）")
    else:
        authority = ("NBS (cross-province surveys) or the provincial statistics bureau (one province)",
                     "国家统计局（跨省）或省级统计机构（省内）")
    return {
        "requester": (p.requester.name or "the requester", p.requester.name or "委托方"),
        "conductor": (p.conductor.name or "the conductor", p.conductor.name or "实施机构"),
        "licence": (f"no. {p.conductor.licence}" if p.conductor.licence else "number not given",
                    p.conductor.licence or "编号未提供"),
        "approval": (f"no. {p.social_survey_approval}" if p.social_survey_approval else "number not given",
                     p.social_survey_approval or "文号未提供"),
        "approval_authority": authority,
        "kind": kind,
    }


def _fill(text: str, values: dict[str, tuple[str, str]], lang: int) -> str:
    for name, pair in values.items():
        text = text.replace("{" + name + "}", pair[lang])
    return text


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def item(verdict: Verdict, ctx: Context, rules: RuleSet) -> dict[str, Any]:
    """Turn a verdict into a report item (contract fields: rule, severity, message, references)."""
    rule, status = verdict.rule, verdict.status
    values = _placeholders(ctx)
    if status == "compliant":
        en, zh = _fill(rule.compliant_en, values, 0), _fill(rule.compliant_zh, values, 1)
    else:
        en, zh = _fill(rule.message_en, values, 0), _fill(rule.message_zh, values, 1)
    missing = []
    for name in verdict.outcome.missing:
        spec = rules.facts.get(name)
        missing.append({
            "fact": name,
            "question": spec.question_en if spec else name,
            "question_zh": spec.question_zh if spec else name,
            "profile_keys": list(spec.keys) if spec else [],
        })
    hints = _overseas_hints(verdict, ctx, rules)
    if status == "undetermined":
        questions_en = "; ".join(m["question"] for m in missing) or "facts not stated"
        questions_zh = "；".join(m["question_zh"] for m in missing) or "未说明的事实"
        en = f"Undetermined - {rule.title_en}. It depends on {questions_en}. If it does apply: {en}"
        zh = f"尚无法判断——{rule.title_zh}。取决于：{questions_zh}。如适用：{zh}"
        if hints:
            quoted = "; ".join(f"'{h['text']}'" for h in hints[:2])
            en += f" Hint: the file itself mentions {quoted} - if that party is overseas, this applies."
            zh += f" 提示：文件中提到{quoted}；如该方在境外，则本规则适用。"
    for note_en, note_zh in verdict.notes:
        en += f" Note: {note_en}"
        zh += f" 注：{note_zh}"
    facts: dict[str, Any] = {}
    basis: list[str] = []
    for name, fv in sorted(verdict.outcome.used):
        if name == "file_content":
            continue
        facts[name] = _jsonable(fv.value)
        if fv.note:
            basis.append(f"{name}: {fv.note}")
    units = [e for e in verdict.outcome.evidence if not e["unit"].startswith("text:")]
    texts = [e for e in verdict.outcome.evidence if e["unit"].startswith("text:")]
    if units:
        facts["findings"] = sorted({c for e in units for c in e["categories"]})
    out: dict[str, Any] = {
        "rule": rule.id,
        "title": rule.title_en,
        "title_zh": rule.title_zh,
        "status": status,
        "severity": "info" if status == "compliant" else verdict.severity,
        "rule_severity": verdict.severity,
        "certainty": verdict.certainty,
        "message": en,
        "message_zh": zh,
        "action": _fill(rule.action_en, values, 0),
        "action_zh": _fill(rule.action_zh, values, 1),
        "references": [r.label() for r in rule.references],
        "reference_details": [r.to_json() for r in rule.references],
        "facts": facts,
        "basis": basis,
        "missing": missing,
    }
    if units:
        out["units"] = [{"id": e["unit"], "location": e["location"], "categories": e["categories"]}
                        for e in units[:MAX_UNITS]]
        if len(units) > MAX_UNITS:
            out["units_more"] = len(units) - MAX_UNITS
    if texts:
        out["text_evidence"] = [{"text": e["text"], "terms": e["terms"]} for e in texts]
    if hints:
        out["hints"] = hints
    return out


HINT_FACTS = {"overseas_party", "recipient_overseas", "foreign_related"}


def _overseas_hints(verdict: Verdict, ctx: Context, rules: RuleSet) -> list[dict[str, Any]]:
    """Text read but not screened (title, introduction, cover sheet) that points to an overseas party,
    when that fact is missing: a hint for the user, never a decision."""
    terms = rules.term_lists.get("overseas_hint")
    if ctx.file is None or terms is None or not HINT_FACTS & set(verdict.outcome.missing):
        return []
    hints = []
    for norm, text in ctx.file.skipped:
        found = terms.find(norm)
        if found:
            hints.append({"text": text if len(text) <= 160 else text[:157] + "...", "terms": found[:3]})
        if len(hints) == 3:
            break
    return hints


def _is_engagement_level(verdict: Verdict) -> bool:
    return "file" not in verdict.outcome.sources and not verdict.outcome.evidence


def sort_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Severity (high first), then rule id, then status; deterministic."""
    return sorted(items, key=lambda i: (-SEVERITY_RANK.get(i["severity"], 0), i["rule"],
                                        STATUS_ORDER.get(i["status"], 9), i["message"]))


def assess_profile(profile: Profile | None, rules: RuleSet | None = None) -> list[dict[str, Any]]:
    """The engagement-level items: rules decided by the profile alone."""
    rules = rules or load_rules()
    if profile is None:
        return []
    ctx = Context(profile, None)
    out = []
    for rule in rules.rules:
        verdict = judge(rule, ctx)
        if verdict is not None and _is_engagement_level(verdict):
            out.append(item(verdict, ctx, rules))
    return sort_items(out)


def assess_file(facts: FileFacts, profile: Profile | None, rules: RuleSet | None = None,
                engagement_items: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The file-level items for one file (dropping repeats of engagement-level items)."""
    rules = rules or load_rules()
    ctx = Context(profile, facts)
    top = {(i["rule"], i["status"], i["severity"]) for i in engagement_items or []}
    out = []
    for rule in rules.rules:
        verdict = judge(rule, ctx)
        if verdict is None:
            continue
        made = item(verdict, ctx, rules)
        if (made["rule"], made["status"], made["severity"]) in top and "units" not in made:
            continue
        out.append(made)
    return sort_items(out)


def _activity_note(profile: Profile | None, kind: dict[str, Any]) -> str | None:
    if profile is None or not profile.activity:
        return None
    if profile.activity in ("transaction_dd", "vendor_security", "supply_chain_audit") and \
            kind["kind"] in ("market_survey", "social_survey"):
        return (f"the profile calls the engagement {profile.activity}, but this file reads as a "
                f"{kind['kind']}: the survey rules are applied to it")
    if profile.activity in ("market_survey", "expert_interviews", "background_check") and kind["kind"] == "social_survey":
        return f"the profile says {profile.activity}, but this file reads as a social survey: the social-survey rules apply"
    return None


def assess_files(files, profile: Profile | None = None, rules: RuleSet | None = None) -> list[dict[str, Any]]:
    """Set ``survey_kind`` and ``engagement`` on every readable file; return the engagement-level items."""
    rules = rules or load_rules()
    top = assess_profile(profile, rules)
    for result in files:
        if result.failed:
            result.survey_kind = None
            continue
        kind = classify(result)
        note = _activity_note(profile, kind)
        if note:
            kind["note"] = note
        result.survey_kind = kind
        result.engagement = assess_file(FileFacts.from_result(result, kind), profile, rules, top)
    return top
