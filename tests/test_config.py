"""Configuration: ddcheck.toml and pyproject.toml [tool.ddcheck], DDCHECK_* variables, the command line;
precedence, the search from the current directory up to a git root, errors, and 'ddcheck config show'."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ddcheck.cli import app
from ddcheck.config import KEYS, ConfigError, find_files, load_settings

ROOT = Path(__file__).resolve().parent.parent
MILITARY = "List all customers that are units of the People's Liberation Army, with the revenue from each.\n"
ROSTER = "Provide a roster of all employees with their identity card numbers and home addresses.\n"


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project folder that is a git root, inside a folder that has its own (ignored) ddcheck.toml."""
    for key in KEYS:
        monkeypatch.delenv(f"DDCHECK_{key.upper()}", raising=False)
    (tmp_path / "ddcheck.toml").write_text('fail_on = "never"\n', encoding="utf-8")      # above the git root
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "work" / "round2").mkdir(parents=True)
    monkeypatch.chdir(root / "work" / "round2")
    return root


def show(env: dict | None = None, *args) -> dict:
    result = CliRunner().invoke(app, ["config", "show", "--json", *args], env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["settings"]


def test_defaults_when_nothing_is_configured(project):
    settings = show()
    assert {k: v["source"] for k, v in settings.items()} == {k: "default" for k in KEYS}
    assert settings["fail_on"]["value"] == "high" and settings["matcher"]["value"] == "hybrid"
    assert find_files() == (None, None), "the ddcheck.toml above the git root is not used"


def test_precedence_pyproject_then_ddcheck_toml_then_environment(project):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.ddcheck]\nfail_on = "low"\nmatcher = "keywords"\nlang = "zh"\n'
        'lexicon = "lexicons/acme.yaml"\n', encoding="utf-8")
    (project / "work" / "ddcheck.toml").write_text('fail_on = "medium"\nreviewer = "Wang Fang"\n', encoding="utf-8")
    settings = show()
    assert settings["matcher"] == {"value": "keywords", "source": f"{project / 'pyproject.toml'} [tool.ddcheck]"}
    assert settings["lang"]["value"] == "zh"
    assert settings["lexicon"]["value"] == [str(project / "lexicons" / "acme.yaml")], "relative to the file"
    assert settings["fail_on"] == {"value": "medium", "source": str(project / "work" / "ddcheck.toml")}
    assert settings["reviewer"]["value"] == "Wang Fang"
    settings = show({"DDCHECK_FAIL_ON": "high", "DDCHECK_EXCLUDE": os.pathsep.join(["**/old/**", "*.tmp"])})
    assert settings["fail_on"] == {"value": "high", "source": "env DDCHECK_FAIL_ON"}
    assert settings["exclude"] == {"value": ["**/old/**", "*.tmp"], "source": "env DDCHECK_EXCLUDE"}
    text = CliRunner().invoke(app, ["config", "show"]).stdout
    assert "fail_on" in text and "medium" in text and "precedence: command line > environment" in text


def test_the_command_line_wins_and_scan_uses_the_configuration(project):
    questions = project / "work" / "round2" / "q.txt"
    questions.write_text(ROSTER, encoding="utf-8")
    (project / "ddcheck.toml").write_text('matcher = "keywords"\nfail_on = "never"\n', encoding="utf-8")
    base = ["scan", str(questions), "--json", "-", "--no-cache"]
    result = CliRunner().invoke(app, base)
    assert result.exit_code == 0, result.stderr                              # fail_on = never from ddcheck.toml
    assert json.loads(result.stdout)["engine"]["matcher"] == "keywords"     # matcher from ddcheck.toml
    assert CliRunner().invoke(app, base, env={"DDCHECK_FAIL_ON": "high"}).exit_code == 1     # env beats the file
    assert CliRunner().invoke(app, base + ["--fail-on", "never"], env={"DDCHECK_FAIL_ON": "high"}).exit_code == 0   # CLI beats env
    assert CliRunner().invoke(app, base + ["--fail-on", "high"]).exit_code == 1              # CLI beats the file


def test_configured_lexicon_decisions_and_document_keys_are_used(project):
    lexicon = project / "acme.yaml"
    lexicon.write_text((ROOT / "examples" / "custom_lexicon.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    questions = project / "work" / "round2" / "Falcon questions.txt"
    questions.write_text("Please describe the delivery schedule of Project Falcon.\n" + MILITARY, encoding="utf-8")
    (project / "ddcheck.toml").write_text(
        'matcher = "keywords"\nlexicon = ["acme.yaml"]\ndecisions = "review/decisions.json"\n'
        '[document_keys]\n"Falcon*.txt" = "ipo_request_list"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(questions), "--json", "-", "--no-cache"])
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    units = report["files"][0]["units"]
    assert report["files"][0]["document_key"] == "ipo_request_list"
    assert units[0]["findings"] and units[0]["findings"][0]["category"] == "defense_military_business"
    assert "no decisions recorded yet" in result.stderr and str(project / "review" / "decisions.json") in result.stderr
    assert report["decisions"]["file"] == str(project / "review" / "decisions.json")


@pytest.mark.parametrize("where, text, message", [
    ("ddcheck.toml", 'fail_on = "medium"\nfial_on = "high"\n', "ddcheck.toml: unknown key 'fial_on'"),
    ("pyproject.toml", '[tool.ddcheck]\ncolour = "red"\n', "pyproject.toml [tool.ddcheck]: unknown key 'colour'"),
    ("ddcheck.toml", 'fail_on = "critical"\n', "ddcheck.toml: fail_on: must be one of high, medium, low, never"),
    ("ddcheck.toml", 'encoder = "bert"\n', "ddcheck.toml: encoder: unknown encoder 'bert'"),
    ("ddcheck.toml", 'exclude = 3\n', "ddcheck.toml: exclude: must be a string or a list of strings"),
    ("ddcheck.toml", 'fail_on = \n', "ddcheck.toml: not valid TOML"),
])
def test_errors_name_the_key_and_the_file_and_exit_2(project, where, text, message):
    (project / where).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings()
    for args in (["config", "show"], ["scan", "x.txt", "--json", "-"], ["rules", "test", "--matcher", "keywords"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)


def test_environment_errors_name_the_variable(project):
    result = CliRunner().invoke(app, ["config", "show"], env={"DDCHECK_MATCHER": "bm25"})
    assert result.exit_code == 2 and "env DDCHECK_MATCHER: must be one of hybrid, semantic, keywords, none" in result.stderr
    result = CliRunner().invoke(app, ["config", "show"], env={"DDCHECK_DOCUMENT_KEYS": "no-equals-sign"})
    assert result.exit_code == 2 and "DDCHECK_DOCUMENT_KEYS: 'no-equals-sign' must read GLOB=KEY" in result.stderr


def test_search_stops_at_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "cases" / "acme").mkdir(parents=True)
    (tmp_path / "ddcheck.toml").write_text('fail_on = "low"\n', encoding="utf-8")        # above home: ignored
    (home / "ddcheck.toml").write_text('fail_on = "medium"\n', encoding="utf-8")          # home itself: used
    monkeypatch.setenv("HOME", str(home))
    for key in KEYS:
        monkeypatch.delenv(f"DDCHECK_{key.upper()}", raising=False)
    monkeypatch.chdir(home / "cases" / "acme")
    settings = load_settings()
    assert settings["fail_on"] == "medium" and settings.sources["fail_on"] == str(home / "ddcheck.toml")
