"""The facts the engagement rules decide on: stated in the profile, derived from it, or shown by a file.

A fact's value is ``None`` when it is not known. Every value records where it came
from (``profile`` and/or ``file``) and, when not known, which facts would decide it,
so a rule's outcome can say what is missing and whether it depends on a file at all.
The derivations follow Part D1/D2 of the shared taxonomy; each is a small function
with its reasoning in the docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ddcheck.engagement.profile import Profile
from ddcheck.model import SEVERITY_RANK
from ddcheck.textnorm import normalise

PROFILE = frozenset({"profile"})
FILE = frozenset({"file"})
BOTH = PROFILE | FILE


@dataclass(frozen=True)
class FactValue:
    value: Any                       # None = not known
    sources: frozenset[str]
    missing: tuple[str, ...] = ()    # facts that would decide it, when value is None
    note: str = ""                   # how a derived value was reached


@dataclass(frozen=True)
class UnitFacts:
    """What one unit contributes: its id, location, normalised text and findings (category, severity)."""

    id: str
    location: str
    norm: str
    findings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FileFacts:
    """What a file shows: its survey kind (and sub-kind), its units with findings, and all its text."""

    path: str = ""
    kind: str | None = None
    subkind: str | None = None
    units: tuple[UnitFacts, ...] = ()
    texts: tuple[str, ...] = ()      # normalised unit and skipped texts, for term lists
    skipped: tuple[tuple[str, str], ...] = ()   # (normalised, as written) text read but not screened

    @classmethod
    def from_result(cls, result, survey_kind: dict | None) -> "FileFacts":
        units = []
        for u in result.units:
            units.append(UnitFacts(u.id, u.raw.location.label, u.norm or normalise(u.text),
                                   tuple((f.category, f.severity) for f in u.findings)))
        for i, ff in enumerate(result.file_findings):   # file-level findings (e.g. beyond_scope)
            if isinstance(ff, dict) and ff.get("category"):
                units.append(UnitFacts(f"file:{i}", "(file)", "", ((ff["category"], ff.get("severity", "low")),)))
        skipped = tuple((normalise(s.text), s.text) for s in result.skipped)
        texts = tuple(u.norm for u in units if u.norm) + tuple(n for n, _ in skipped)
        kind = (survey_kind or {}).get("kind")
        return cls(result.path, kind, (survey_kind or {}).get("subkind"), tuple(units), texts, skipped)

    def units_with(self, categories: frozenset[str], min_severity: str | None = None) -> list[tuple[UnitFacts, list[str]]]:
        floor = SEVERITY_RANK[min_severity] if min_severity else 0
        out = []
        for unit in self.units:
            cats = [c for c, sev in unit.findings if c in categories and SEVERITY_RANK.get(sev, 0) >= floor]
            if cats:
                out.append((unit, sorted(set(cats))))
        return out


SURVEY_ACTIVITIES = {"market_survey": "market", "expert_interviews": "market", "background_check": "market",
                     "social_survey": "social"}
NON_SURVEY_ACTIVITIES = {"transaction_dd", "vendor_security", "supply_chain_audit"}
THIRD_PARTY_ACTIVITIES = {"expert_interviews", "background_check"}
NON_SURVEY_KINDS = {"due_diligence", "vendor_security", "supply_chain"}


@dataclass
class Context:
    """Facts for one judgement: the profile (or None) and the file (or None for the engagement-level pass)."""

    profile: Profile | None
    file: FileFacts | None = None
    _cache: dict[str, FactValue] = field(default_factory=dict)

    @property
    def has_profile(self) -> bool:
        return self.profile is not None

    def fact(self, name: str) -> FactValue:
        if name not in self._cache:
            if name in DERIVED:
                self._cache[name] = DERIVED[name](self)
            elif name in PROFILE_KEYS:
                self._cache[name] = self._stated(name)
            else:
                raise KeyError(name)
        return self._cache[name]

    def _stated(self, name: str) -> FactValue:
        value = self.profile.value(PROFILE_KEYS[name]) if self.profile is not None else None
        return FactValue(value, PROFILE, () if value is not None else (name,))

    def value(self, name: str) -> Any:
        return self.fact(name).value


# Facts read straight from the profile: fact name -> attribute path on Profile.
PROFILE_KEYS = {
    "requester_overseas": "requester.overseas",
    "requester_china_office": "requester.china_office",
    "conductor_overseas": "conductor.overseas",
    "conductor_foreign_invested": "conductor.foreign_invested",
    "recipient_overseas": "recipient_overseas",
    "funder_or_partner_overseas": "funder_or_partner_overseas",
    "client_disclosed": "client_disclosed",
    "has_licence": "conductor.has_licence",
    "licence_scope": "conductor.licence_scope",
    "licence_expired": "conductor.licence_expired",
    "has_approval": "has_social_survey_approval",
    "activity": "activity",
    "scope": "scope",
    "listing": "listing",
    "end_use": "end_use",
    "foreign_authority": "foreign_authority",
    "data_room": "data_room",
    "respondents": "respondents",
    "red_flags": "red_flags",
}


def _survey_kind(ctx: Context) -> FactValue:
    kind = ctx.file.kind if ctx.file is not None else None
    return FactValue(kind, FILE, () if kind else ("survey_kind",))


def _survey_type(ctx: Context) -> FactValue:
    """market | social | none. The profile's activity and the file's kind both count; a survey in
    either wins over a non-survey in the other (a consumer questionnaire is a survey whatever the
    profile calls the engagement), and social wins over market (Measures Art. 3: everything that is
    not market information is social information)."""
    activity = ctx.value("activity")
    kind = ctx.file.kind if ctx.file is not None else None
    if activity == "social_survey":
        return FactValue("social", PROFILE, note="activity: social_survey")
    if kind == "social_survey":
        return FactValue("social", FILE, note="the file reads as a social survey")
    if activity in SURVEY_ACTIVITIES:
        return FactValue("market", PROFILE, note=f"activity: {activity}")
    if kind == "market_survey":
        return FactValue("market", FILE, note="the file reads as a market survey")
    if activity in NON_SURVEY_ACTIVITIES:
        return FactValue("none", PROFILE, note=f"activity: {activity}")
    if kind in NON_SURVEY_KINDS:
        return FactValue("none", FILE, note=f"the file reads as {kind}")
    return FactValue(None, BOTH, ("activity",))


def _third_party(ctx: Context) -> FactValue:
    """Expert calls and background checks (profile), or a file that reads as an expert-call guide."""
    activity = ctx.value("activity")
    if activity in THIRD_PARTY_ACTIVITIES:
        return FactValue(True, PROFILE, note=f"activity: {activity}")
    if ctx.file is not None and ctx.file.subkind == "expert_interview":
        return FactValue(True, FILE, note="the file reads as an expert-call or interview guide")
    if activity is not None:
        return FactValue(False, PROFILE)
    if ctx.file is not None and ctx.file.kind not in (None, "other"):
        return FactValue(False, FILE)
    return FactValue(None, BOTH, ("activity",))


def _overseas_party(ctx: Context) -> FactValue:
    """Art. 2: an overseas party (or the China office of one) commissions, funds, cooperates in or
    receives the results. An undisclosed end client counts as overseas (Part D1). It is "no" only when
    the requester, the recipient and any funder or partner are all stated to be domestic."""
    names = ("requester_overseas", "requester_china_office", "conductor_overseas", "recipient_overseas",
             "funder_or_partner_overseas")
    yes = [n for n in names if ctx.value(n) is True]
    if yes:
        return FactValue(True, PROFILE, note="stated: " + ", ".join(yes))
    if ctx.value("client_disclosed") is False:
        return FactValue(True, PROFILE, note="the end client is not disclosed, so it is treated as overseas (Part D1)")
    decisive = ("requester_overseas", "recipient_overseas", "funder_or_partner_overseas")
    if all(ctx.value(n) is False for n in decisive):
        return FactValue(False, PROFILE, note="requester, recipient and funder/partner all stated domestic")
    return FactValue(None, PROFILE, ("overseas_party",))


def _foreign_related(ctx: Context) -> FactValue:
    """A market or social survey (incl. expert calls, background checks) with an overseas party."""
    survey = ctx.fact("survey_type")
    party = ctx.fact("overseas_party")
    sources = survey.sources | party.sources
    if survey.value == "none":
        return FactValue(False, survey.sources, note="not a market or social survey")
    if party.value is False:
        return FactValue(False, party.sources, note="no overseas party")
    if survey.value is None:
        return FactValue(None, sources, survey.missing + (party.missing if party.value is None else ()))
    if party.value is None:
        return FactValue(None, sources, party.missing)
    return FactValue(True, sources, note=f"{survey.value} survey with an overseas party ({party.note})")


def _licensed_for_scope(ctx: Context) -> FactValue:
    """Holds a current licence whose authority covers the area: a national (NBS) licence covers any
    area, a provincial one a single province; a provincial licence for a cross-province survey does
    not (arguable reading of Impl. Regs Art. 52). A lapsed licence is no licence; a licence not stated
    to have lapsed is taken as current (ENG-02 asks the user to check)."""
    held = ctx.value("has_licence")
    if held is False:
        return FactValue(False, PROFILE, note="the conductor holds no licence")
    if ctx.value("licence_expired") is True:
        return FactValue(False, PROFILE, note="the licence has lapsed")
    if held is None:
        return FactValue(None, PROFILE, ("has_licence",))
    level, scope = ctx.value("licence_scope"), ctx.value("scope")
    if level == "national":
        return FactValue(True, PROFILE, note="national (NBS) licence")
    if scope == "single_province":
        return FactValue(True, PROFILE, note="licence held; fieldwork in one province")
    if level == "provincial" and scope == "multi_province":
        return FactValue(False, PROFILE, note="provincial licence used for a cross-province survey")
    missing = tuple(n for n, v in (("licence_scope", level), ("scope", scope)) if v is None)
    return FactValue(None, PROFILE, missing)


def _data_leaves_china(ctx: Context) -> FactValue:
    """Answers leave China when they go to an overseas recipient or an offshore data room. When the
    recipient is not stated, answering an overseas requester or conductor (or an undisclosed client)
    is providing to an overseas party; a recipient stated to be domestic keeps them onshore."""
    if ctx.value("recipient_overseas") is True:
        return FactValue(True, PROFILE, note="recipient overseas")
    if ctx.value("data_room") == "offshore":
        return FactValue(True, PROFILE, note="offshore data room")
    if ctx.value("recipient_overseas") is False:
        return FactValue(False, PROFILE, note="recipient stated domestic")
    for name in ("requester_overseas", "conductor_overseas"):
        if ctx.value(name) is True:
            return FactValue(True, PROFILE, note=f"{name.replace('_', ' ')}: answers go to it")
    if ctx.value("client_disclosed") is False:
        return FactValue(True, PROFILE, note="undisclosed client treated as overseas (Part D1)")
    return FactValue(None, PROFILE, ("recipient_overseas",))


DERIVED: dict[str, Callable[[Context], FactValue]] = {
    "survey_kind": _survey_kind,
    "survey_type": _survey_type,
    "third_party_gathering": _third_party,
    "overseas_party": _overseas_party,
    "foreign_related": _foreign_related,
    "licensed_for_scope": _licensed_for_scope,
    "data_leaves_china": _data_leaves_china,
}
ALL_FACTS = frozenset(PROFILE_KEYS) | frozenset(DERIVED)
