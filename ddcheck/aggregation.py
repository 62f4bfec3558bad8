"""Aggregation: many modest questions in one file that together map a sensitive area.

A single question on stock days, another on which customers buy which tool, a third
on the domestic share of a component may each be medium or low; answered together
they can reveal what none reveals alone. The Secrets Law (Art. 36) asks data
handlers to guard against leaks through aggregation and correlation, and the
Counter-espionage Law (Art. 4(1)(3)) reaches "other documents, data, materials
related to national security" handed to overseas parties. So when a file holds at
least ``MIN_UNITS`` low/medium findings in one category, or in one of the areas
below, ddcheck raises one file-level finding naming the questions that add up.
"""

from __future__ import annotations

from ddcheck.model import SEVERITY_RANK

MIN_UNITS = 4
# Categories whose answers, put together, map one sensitive area.
AREAS = {
    "strategic_sector": ("strategic_industry_intel", "export_controlled_tech", "important_core_data",
                         "defense_military_business", "military_sites_geospatial", "cii_security_details"),
    "state_and_security": ("state_secret_classified", "government_work_secrets", "classified_personnel_expert_access",
                           "defense_military_business"),
    "people": ("sensitive_personal_info", "human_genetic_health", "social_political_sensitive", "social_survey_content"),
}
AREA_NAMES = {
    "strategic_sector": "a strategic sector's supply chain, technology, data and infrastructure",
    "state_and_security": "state, defence and security matters",
    "people": "identifiable people, their health, beliefs and opinions",
}
REFERENCES = ["Law on Guarding State Secrets (2024) Art. 36 [V]", "Counter-espionage Law (2023) Art. 4(1)(3) [V]"]
RAISE = {"low": "medium", "medium": "high", "high": "high"}


def _finding(key: str, label: str, members: list) -> dict:
    worst = max((f.severity for _, f in members), key=SEVERITY_RANK.__getitem__)
    units = list(dict.fromkeys(u.id for u, _ in members))
    locations = list(dict.fromkeys(u.raw.location.label for u, _ in members))
    shown = ", ".join(locations[:8]) + (f" and {len(locations) - 8} more" if len(locations) > 8 else "")
    return {
        "kind": "aggregation", "category": key, "severity": RAISE[worst],
        "message": (f"{len(units)} questions that are each of limited risk together map {label} ({shown}). Answered "
                    f"together they can reveal what none reveals alone: review them as one set, answer from public or "
                    f"aggregated information, and consider whether the whole set is needed."),
        "why": f"{len(units)} low/medium findings in one file, at least {MIN_UNITS} needed to raise an aggregation finding",
        "action": "route_confidentiality_officer", "units": units, "locations": locations, "references": list(REFERENCES),
    }


def aggregate(file_result, names: dict[str, str] | None = None) -> list[dict]:
    """File-level aggregation findings for one file (nothing when its findings are few or already high)."""
    names = names or {}
    modest = [(u, f) for u in file_result.units for f in u.findings
              if f.severity in ("low", "medium") and f.category != "beyond_scope"]
    out = []
    by_category: dict[str, list] = {}
    for unit, finding in modest:
        by_category.setdefault(finding.category, []).append((unit, finding))
    covered: set[str] = set()
    for category, members in sorted(by_category.items()):
        if len({u.id for u, _ in members}) >= MIN_UNITS:
            out.append(_finding(category, names.get(category, category.replace("_", " ")), members))
            covered.add(category)
    for area, categories in AREAS.items():
        members = [(u, f) for u, f in modest if f.category in categories]
        spread = {f.category for _, f in members} - covered
        if len({u.id for u, _ in members}) >= MIN_UNITS and len(spread) >= 2:
            out.append(_finding(area, AREA_NAMES[area], members))
    return out
