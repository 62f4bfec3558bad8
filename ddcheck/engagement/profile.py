"""The engagement profile: who commissions, runs and receives the exercise (``--engagement PROFILE.yaml``).

The schema is a contract (``shared/contracts/cli-and-report.md``). Every key is
optional, and "not stated" is kept apart from "no": a key that is left out, set to
``null`` or written ``unknown`` is *not stated* (``None`` here), which the rules
report as undetermined instead of guessing. Loading is strict: an unknown key, a
value of the wrong type or outside its allowed values is a :class:`ProfileError`
that names the file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ProfileError(ValueError):
    """An engagement profile that cannot be used; the message names the file and the key."""


# ----------------------------------------------------------------------------------------
# Schema
# ----------------------------------------------------------------------------------------

ACTIVITIES = ("transaction_dd", "market_survey", "social_survey", "expert_interviews", "background_check",
              "vendor_security", "supply_chain_audit", "other")
SCOPES = ("single_province", "multi_province")
LISTINGS = ("none", "overseas_direct", "overseas_indirect", "overseas_listed")
END_USES = ("transaction", "foreign_authority", "sanctions_compliance", "research")
LICENCE_SCOPES = ("national", "provincial")
FOREIGN_AUTHORITIES = ("securities_regulator", "audit_regulator", "court", "prosecutor", "law_enforcement",
                       "customs", "tax_authority", "arbitral_tribunal", "other")
RESPONDENTS = ("management", "employees", "consumers", "officials", "soe_staff", "defence_staff",
               "research_institute_staff", "classified_staff", "former_staff", "experts", "residents")
RED_FLAGS = ("client_not_named", "unusual_fees", "staff_without_management", "sensitive_timing",
             "personal_devices_or_channels")
DATA_ROOMS = ("onshore", "offshore")

NOT_STATED = "unknown"          # the one word that explicitly means "not stated"
_NONE_WORDS = {"none", "no", "false"}


@dataclass(frozen=True)
class Field:
    kind: str                      # bool | text | enum | list | docno
    allowed: tuple[str, ...] = ()
    help: str = ""


PARTY_FIELDS = {
    "name": Field("text", help="who it is"),
    "overseas": Field("bool", help="an organisation or individual outside the PRC customs territory (HK/Macao/Taiwan count)"),
    "china_office": Field("bool", help="the China branch or representative office of an overseas organisation"),
}
CONDUCTOR_FIELDS = {
    "name": Field("text", help="who runs the exercise"),
    "overseas": Field("bool", help="the conductor is itself an overseas organisation or individual"),
    "licence": Field("docno", help="涉外调查许可证 number; 'none' if it holds none"),
    "licence_scope": Field("enum", LICENCE_SCOPES, "national (NBS) or provincial licence"),
    "licence_expired": Field("bool", help="true if the licence has lapsed"),
    "foreign_invested": Field("bool", help="the conductor is a foreign-invested enterprise (JV or WFOE)"),
}
TOP_FIELDS: dict[str, Any] = {
    "requester": PARTY_FIELDS,
    "conductor": CONDUCTOR_FIELDS,
    "recipient_overseas": Field("bool", help="results or materials go to an overseas party"),
    "funder_or_partner_overseas": Field("bool", help="an overseas party funds the exercise or takes part in it"),
    "client_disclosed": Field("bool", help="the end client has been named to the company"),
    "activity": Field("enum", ACTIVITIES),
    "social_survey_approval": Field("docno", help="approval document number; 'none' if there is none"),
    "scope": Field("enum", SCOPES),
    "listing": Field("enum", LISTINGS),
    "end_use": Field("enum", END_USES),
    "foreign_authority": Field("enum", FOREIGN_AUTHORITIES, "which foreign authority, when end_use is foreign_authority"),
    "respondents": Field("list", RESPONDENTS, "who is asked"),
    "red_flags": Field("list", RED_FLAGS, "counter-espionage warning signs noticed"),
    "data_room": Field("enum", DATA_ROOMS, "where the data room or answers are hosted"),
    "purpose": Field("text", help="the declared scope of the exercise"),
}


# ----------------------------------------------------------------------------------------
# The loaded profile
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    name: str | None = None
    overseas: bool | None = None
    china_office: bool | None = None


@dataclass(frozen=True)
class Conductor:
    name: str | None = None
    overseas: bool | None = None
    licence: str | None = None           # the licence number, if one was given
    has_licence: bool | None = None      # True: holds one; False: holds none; None: not stated
    licence_scope: str | None = None
    licence_expired: bool | None = None
    foreign_invested: bool | None = None


@dataclass(frozen=True)
class Profile:
    """Facts about one engagement. ``None`` always means "not stated"."""

    source: str = ""
    requester: Party = field(default_factory=Party)
    conductor: Conductor = field(default_factory=Conductor)
    recipient_overseas: bool | None = None
    funder_or_partner_overseas: bool | None = None
    client_disclosed: bool | None = None
    activity: str | None = None
    social_survey_approval: str | None = None
    has_social_survey_approval: bool | None = None
    scope: str | None = None
    listing: str | None = None
    end_use: str | None = None
    foreign_authority: str | None = None
    respondents: tuple[str, ...] | None = None
    red_flags: tuple[str, ...] | None = None
    data_room: str | None = None
    purpose: str | None = None
    stated: frozenset[str] = frozenset()   # dotted keys the file gave a value for

    def to_json(self) -> dict[str, Any]:
        """The facts as given (for the report), dotted keys, not-stated keys left out."""
        out: dict[str, Any] = {}
        for key in sorted(self.stated):
            value = self.value(key)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def value(self, dotted: str) -> Any:
        obj: Any = self
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj


# ----------------------------------------------------------------------------------------
# Loading and validation
# ----------------------------------------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last one)."""


def _mapping_no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates)


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return repr(value)


def _unknown_key(where: str, parent: str, key: Any, allowed) -> ProfileError:
    dotted = f"{parent}.{key}" if parent else str(key)
    hint = difflib.get_close_matches(str(key), list(allowed), n=1)
    scope = f"under '{parent}'" if parent else "at the top level"
    return ProfileError(
        f"{where}: unknown key '{dotted}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
        + f"; allowed {scope}: {', '.join(allowed)}"
    )


def _check_value(where: str, dotted: str, spec: Field, value: Any) -> Any:
    """Return the parsed value (``None`` = not stated) or raise naming key, value and what is allowed."""
    meaning = f" ({spec.help})" if spec.help else ""
    if value is None or (isinstance(value, str) and value.strip().lower() == NOT_STATED):
        return None
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        raise ProfileError(f"{where}: '{dotted}'{meaning} must be true or false (or '{NOT_STATED}' / left out if not known), "
                           f"got {_type_name(value)}")
    if spec.kind == "text":
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
        raise ProfileError(f"{where}: '{dotted}' must be text, got {_type_name(value)}")
    if spec.kind == "enum":
        if isinstance(value, str) and value.strip() in spec.allowed:
            return value.strip()
        raise ProfileError(f"{where}: '{dotted}': {_type_name(value)} is not allowed; use one of: "
                           f"{', '.join(spec.allowed)} (or '{NOT_STATED}' / leave it out if not known)")
    if spec.kind == "list":
        items = value if isinstance(value, list) else None
        if items is None or not all(isinstance(v, str) for v in items):
            raise ProfileError(f"{where}: '{dotted}' must be a list such as [{', '.join(spec.allowed[:2])}], "
                               f"got {_type_name(value)}; allowed items: {', '.join(spec.allowed)}")
        bad = [v for v in items if v not in spec.allowed]
        if bad:
            raise ProfileError(f"{where}: '{dotted}': {bad[0]!r} is not allowed; use items from: "
                               f"{', '.join(spec.allowed)}")
        return tuple(dict.fromkeys(items))
    if spec.kind == "docno":   # a document number, or false/'none' for "there is none"
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _NONE_WORDS:
            return False
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()
        raise ProfileError(f"{where}: '{dotted}'{meaning} must be the document number as text, or 'none' if there is "
                           f"none (or '{NOT_STATED}' / left out if not known), got {_type_name(value)}")
    raise AssertionError(spec.kind)


def _docno(value: Any) -> tuple[str | None, bool | None]:
    """(number, held?) from a docno field: "沪统涉外证字第1号" -> (no, True); False -> (None, False)."""
    if value is None:
        return None, None
    if value is True:
        return None, True
    if value is False:
        return None, False
    return str(value), True


def parse_profile(data: Any, where: str) -> Profile:
    """Validate a profile mapping (already parsed from YAML) and build the :class:`Profile`."""
    if data is None:
        raise ProfileError(f"{where}: the profile is empty; give at least one fact (see examples/profiles/) "
                           "or leave out --engagement")
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: an engagement profile must be a mapping of keys to values "
                           f"(such as 'activity: market_survey'), got {_type_name(data)}")
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in TOP_FIELDS:
            raise _unknown_key(where, "", key, TOP_FIELDS)
        spec = TOP_FIELDS[key]
        if isinstance(spec, dict):
            if raw is None:
                continue
            if not isinstance(raw, dict):
                example = "{name: ..., overseas: true}"
                raise ProfileError(f"{where}: '{key}' must be a mapping such as {example}, got {_type_name(raw)}; "
                                   f"allowed keys: {', '.join(spec)}")
            for sub, sub_raw in raw.items():
                if sub not in spec:
                    raise _unknown_key(where, key, sub, spec)
                parsed = _check_value(where, f"{key}.{sub}", spec[sub], sub_raw)
                if parsed is not None:
                    values[f"{key}.{sub}"] = parsed
        else:
            parsed = _check_value(where, key, spec, raw)
            if parsed is not None:
                values[key] = parsed

    licence, has_licence = _docno(values.get("conductor.licence"))
    approval, has_approval = _docno(values.get("social_survey_approval"))
    return Profile(
        source=where,
        requester=Party(values.get("requester.name"), values.get("requester.overseas"),
                        values.get("requester.china_office")),
        conductor=Conductor(
            name=values.get("conductor.name"), overseas=values.get("conductor.overseas"),
            licence=licence, has_licence=has_licence, licence_scope=values.get("conductor.licence_scope"),
            licence_expired=values.get("conductor.licence_expired"),
            foreign_invested=values.get("conductor.foreign_invested"),
        ),
        recipient_overseas=values.get("recipient_overseas"),
        funder_or_partner_overseas=values.get("funder_or_partner_overseas"),
        client_disclosed=values.get("client_disclosed"),
        activity=values.get("activity"),
        social_survey_approval=approval, has_social_survey_approval=has_approval,
        scope=values.get("scope"), listing=values.get("listing"), end_use=values.get("end_use"),
        foreign_authority=values.get("foreign_authority"),
        respondents=values.get("respondents"), red_flags=values.get("red_flags"),
        data_room=values.get("data_room"), purpose=values.get("purpose"),
        stated=frozenset(values),
    )


def parse_profile_text(text: str, where: str) -> Profile:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ProfileError(f"{where}: not valid YAML{at}: {problem}") from None
    return parse_profile(data, where)


def load_profile(path: str | Path) -> Profile:
    """Read and validate an engagement profile file; every problem is a :class:`ProfileError`."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise ProfileError(f"{where}: no such engagement profile")
    if path.is_dir():
        raise ProfileError(f"{where}: is a folder, not an engagement profile (.yaml file)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{where}: cannot read the engagement profile ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProfileError(f"{where}: not a UTF-8 text file; an engagement profile is YAML text") from None
    if not text.strip():
        return parse_profile(None, where)
    return parse_profile_text(text, where)
