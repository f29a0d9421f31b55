# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's task result, its failure message, and the JSON and JUnit reports on the controller.

Pure Python, no Ansible imports. Several hosts (forks of one run) can write the same report file:
each merges its own entry under a lock file ``<path>.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._outcomes import REACHABLE, WORKS_ONLY_DIRECT


def url_results(results) -> list:
    """An account's probe results, each URL once, read as the probe reads several modes (:func:`summarize`,
    the Client Analyzer's reading): the reachable result when any mode reached the URL; else the ``works_only_direct``
    one (Defender for Endpoint's fallback while its proxy fails); else the first mode's, the way the sensor connects.
    The other modes' results are information: a ``direct`` failure of a host that uses a proxy is how it should be."""
    by_url: dict = {}
    for result in results or ():
        if isinstance(result, dict):
            by_url.setdefault(result.get("url"), []).append(result)
    out = []
    for entries in by_url.values():
        out.append(next((r for r in entries if r.get("outcome") == REACHABLE), None)
                   or next((r for r in entries if r.get("outcome") == WORKS_ONLY_DIRECT), None) or entries[0])
    return out


def summarize(results, *, via: str, account: str | None, elapsed_total: float, round_trips: int = 0,
              modes=None, not_tested=None) -> dict:
    """The task result. With several target modes a URL counts as reachable when any tested mode reached
    it (the Client Analyzer's reading: "If any one of the connectivity options returns a (200) status,
    then the Defender for Endpoint client can communicate with the tested URL"); ``failing`` lists each
    URL no tested mode reached, with the outcome and hint of the first mode; ``works_only_direct`` each URL only a
    fallback to a direct connection reached (``_probe._outcomes.direct_fallback``), which is not reachable either."""
    results = list(results)
    by_url: dict = {}
    for result in results:
        by_url.setdefault(result["url"], []).append(result)
    failing = []
    direct_only = []
    working = {}
    for url, entries in by_url.items():
        working[url] = [r.get("mode", via) for r in entries if r["outcome"] == REACHABLE]
        fallback = next((r for r in entries if r["outcome"] == WORKS_ONLY_DIRECT), None)
        if fallback:
            direct_only.append({"url": url, "endpoint": fallback["endpoint"],
                                "proxy_outcome": fallback.get("proxy_outcome"), "hint": fallback["hint"]})
        elif not working[url]:
            first = entries[0]
            failing.append({"url": url, "endpoint": first["endpoint"], "outcome": first["outcome"],
                            "hint": first["hint"], "mode": first.get("mode")})
    summary = {
        "changed": False,
        "results": results,
        "all_reachable": not failing and not direct_only,
        "failing": failing,
        "works_only_direct": direct_only,
        "working_modes": working,
        "elapsed_total": round(float(elapsed_total), 3),
        "via": via,
        "account": account,
        "round_trips": round_trips,
    }
    if modes is not None:
        summary["modes"] = list(modes)
        summary["not_tested"] = [{"mode": m, "why": w} for m, w in (not_tested or {}).items()]
    return summary


def failure_message(summary: dict) -> str:
    bad = summary["failing"] + [dict(f, outcome=WORKS_ONLY_DIRECT) for f in summary.get("works_only_direct") or []]
    items = "; ".join("%s (%s)" % (f["url"], f["outcome"]) for f in bad)
    urls = {r["url"] for r in summary["results"]}
    return "%d of %d endpoint(s) not reachable: %s" % (len(bad), len(urls), items)


def report_target(path: str, host: str, suffix: str) -> str:
    """A directory (existing, or given with a trailing slash) gets one file per host; else ``path``."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", host) or "host"
        return os.path.join(path, safe + suffix)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(path: str):
    """Exclusive lock on ``<path>.lock``: forks of one run (several hosts) merge into one file safely."""
    with open(path + ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _atomic_write(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _report_entry(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "changed"}


def write_json_report(path: str, host: str, summary: dict) -> str:
    """Merge this host's summary into ``{"hosts": {host: summary}}`` at ``path``; returns the file."""
    target = report_target(path, host, ".json")
    with _locked(target):
        data = {"hosts": {}}
        if os.path.exists(target):
            try:
                with open(target, encoding="utf-8") as handle:
                    loaded = json.load(handle)
                if isinstance(loaded, dict) and isinstance(loaded.get("hosts"), dict):
                    data = loaded
            except (OSError, ValueError):
                pass
        data["hosts"][host] = _report_entry(summary)
        data["all_reachable"] = all(h.get("all_reachable") for h in data["hosts"].values())
        _atomic_write(target, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return target


def _case_name(result: dict, summary: dict) -> str:
    name = "%s %s" % (result["endpoint"], result["url"])
    if len(summary.get("modes") or []) > 1:
        name += " [%s]" % result.get("mode")
    return name


def junit_suite(host: str, summary: dict) -> ET.Element:
    """One ``<testsuite>`` per host, one ``<testcase>`` per URL (and mode); a URL no mode reached is a failure
    (in each of its modes), a mode that failed where another worked is not."""
    results = summary["results"]
    failing_urls = {f["url"] for f in summary["failing"] + (summary.get("works_only_direct") or [])}
    suite = ET.Element(
        "testsuite",
        name=host,
        tests=str(len(results)),
        failures=str(sum(1 for r in results if r["url"] in failing_urls)),
        errors="0",
        skipped="0",
        time="%.3f" % summary["elapsed_total"],
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="atp_endpoint_probe.%s" % host,
            name=_case_name(result, summary),
            time="%.3f" % result["elapsed"],
        )
        details = "outcome=%s mode=%s status=%s proxy=%s tls_inspection=%s tls_issuer=%s via=%s account=%s" % (
            result["outcome"],
            result.get("mode"),
            result["status"],
            result["proxy"],
            result.get("tls_inspection"),
            result["tls_issuer"],
            summary["via"],
            summary["account"],
        )
        if result["url"] in failing_urls:
            failure = ET.SubElement(case, "failure", message="%s: %s" % (result["outcome"], result["hint"]))
            failure.set("type", result["outcome"])
            failure.text = details + ("\nerror: %s" % result["error"] if result["error"] else "")
        ET.SubElement(case, "system-out").text = details
    return suite


def write_junit_report(path: str, host: str, summary: dict) -> str:
    """Merge this host's ``<testsuite>`` into the ``<testsuites>`` file at ``path``; returns the file."""
    target = report_target(path, host, ".xml")
    with _locked(target):
        root = None
        if os.path.exists(target):
            try:
                root = ET.parse(target).getroot()
            except (OSError, ET.ParseError):
                root = None
        if root is None or root.tag != "testsuites":
            root = ET.Element("testsuites", name="atp_endpoint_probe")
        for old in [s for s in root.findall("testsuite") if s.get("name") == host]:
            root.remove(old)
        root.append(junit_suite(host, summary))
        suites = root.findall("testsuite")
        root.set("tests", str(sum(int(s.get("tests", 0)) for s in suites)))
        root.set("failures", str(sum(int(s.get("failures", 0)) for s in suites)))
        root.set("errors", "0")
        ET.indent(root)
        _atomic_write(target, ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
    return target
