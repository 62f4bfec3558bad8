"""Engagement rules: foreign-related survey licensing, cross-border data and listing triggers (Part D).

``load_profile`` reads the engagement profile (``--engagement PROFILE.yaml``);
``assess_files`` classifies every file's survey kind and judges the decision table
ENG-01..ENG-20 (``data/engagement/rules.yaml``) against the profile and each file.

Modules: :mod:`.profile` (schema, strict loading), :mod:`.facts` (facts stated,
derived and shown by a file), :mod:`.rules` (the table, its condition vocabulary and
three-valued evaluation), :mod:`.assess` (turning verdicts into report items).
"""

from ddcheck.engagement.assess import assess_file, assess_files, assess_profile
from ddcheck.engagement.facts import Context, FileFacts, UnitFacts
from ddcheck.engagement.profile import Profile, ProfileError, load_profile, parse_profile
from ddcheck.engagement.rules import RuleError, judge, load_rules

__all__ = [
    "Context", "FileFacts", "Profile", "ProfileError", "RuleError", "UnitFacts", "assess_file", "assess_files",
    "assess_profile", "judge", "load_profile", "load_rules", "parse_profile",
]
