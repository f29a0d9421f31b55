# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host summaries for the fleet report tests, built the way the role builds them.

Each row is what ``_summary.host_summary()`` makes of a ``win_wininet_proxy`` result (the fields
``_wininet/_write.py`` returns) and of probe results made by ``_probe._outcomes.make_result()`` for the real
endpoint catalogue: statuses, texts and hints are the collection's own, never invented here.
"""

from __future__ import annotations

import random

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as endpoints
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes

SYSTEM, LOCAL_SERVICE = "S-1-5-18", "S-1-5-19"
WORKSPACE = "contoso"
OLD = "proxy old.corp:3128"
WANTED = "proxy proxy.corp:8080, bypass <local>;*.corp.example"
CATALOGUE = endpoints.build_catalogue(workspace=WORKSPACE, products=["mdi"])
PING = CATALOGUE[0]
CRL = [e for e in CATALOGUE if e.rule == "crl"]
BACKUP = "C:\\ProgramData\\atp.sensor_proxy\\backups\\atp_proxy_%sT0815%02d123456Z\\before.reg"


def target(sid: str, state: str, current: str = WANTED, wanted: str = WANTED) -> dict:
    """One entry of a win_wininet_proxy result's ``targets``."""
    return {"sid": sid, "state": state, "summary": current, "wanted_summary": wanted,
            "differences": [] if state in ("identical", "equivalent") else ["proxy_server"]}


def proxy_result(targets: list, *, write: bool, check_mode: bool = False, backup: str = "", read_only: bool = False,
                 **extra) -> dict:
    """A win_wininet_proxy result: ``write`` means the differing targets were (or would be) written."""
    differing = [t["sid"] for t in targets if t["state"] in ("different", "missing")]
    unloaded = [t["sid"] for t in targets if t["state"] == "hive_not_loaded"]
    pending = differing if (write or read_only) else []
    result = {
        "changed": bool(write and differing and not check_mode), "check_mode": check_mode,
        "targets": targets, "changed_sids": pending, "hive_not_loaded": unloaded,
        "written": differing if write and not check_mode else [], "in_sync": not differing and not unloaded,
        "backup_file": backup if write and differing and not check_mode else "", "maybe_written": [],
        "actions": [], "hives_loaded": [],
        "source": {"decoded": {"flags": {"proxy": True}, "proxy_server": "proxy.corp:8080"}},
    }
    result.update(extra)
    return result


def probe(account: str, results: list) -> dict:
    """One account's atp_endpoint_probe result (an entry of the role's probe result, its ``accounts``): ``results``
    are (endpoint, outcome, status)."""
    made = []
    for endpoint, outcome, status in results:
        extra = {"tls_issuer": "CN=Contoso Inspection CA", "tls_inspection": outcomes.INTERCEPTED} \
            if outcome == "tls_intercepted" else {}
        made.append(outcomes.make_result(endpoint, outcome, via="target", status=status, proxy="proxy.corp:8080",
                                         account=account, **extra))
    return {"account": account, "results": made,
            "all_reachable": all(r["outcome"] == outcomes.REACHABLE for r in made)}


def healthy(account: str, crl_outcome: str = "reachable", crl_status: int | None = 200) -> dict:
    return probe(account, [(PING, "reachable", 200)] + [(e, crl_outcome, crl_status) for e in CRL])


def host(name: str, **kwargs) -> dict:
    return summary.host_summary(name, **kwargs)


def kinds() -> list:
    """One host of each kind: in sync, changed, would change, drifted, hive not loaded, failed, unreachable
    with a partial write and a backup, and one that never recorded a summary."""
    in_sync = [target(SYSTEM, "identical"), target(LOCAL_SERVICE, "equivalent")]
    drifted = [target(SYSTEM, "different", OLD), target(LOCAL_SERVICE, "missing", "(absent)")]
    return [
        host("dc01", proxy=proxy_result(in_sync, write=True),
             probes=[healthy("LocalService"), healthy("SYSTEM")]),
        host("dc02", proxy=proxy_result([target(SYSTEM, "identical"), target(LOCAL_SERVICE, "different", OLD)],
                                        write=True, backup=BACKUP % ("20261122", 2)),
             probes=[probe("LocalService", [(PING, "proxy_auth_required", 407)]), healthy("SYSTEM")]),
        host("dc03", check_mode=True, proxy=proxy_result(drifted, write=True, check_mode=True),
             probes=[probe("LocalService", [(PING, "dns_failure", None)]), healthy("SYSTEM")]),
        host("<dc04 & co>", mode="check", proxy=proxy_result([target(SYSTEM, "different", OLD),
                                                              target(LOCAL_SERVICE, "identical")],
                                                             write=False, read_only=True),
             probes=[probe("SYSTEM", [(PING, "tls_intercepted", None)])]),
        host("dc05", proxy=proxy_result([target(SYSTEM, "identical"),
                                         target(LOCAL_SERVICE, "hive_not_loaded", "(hive not loaded)")], write=True)),
        host("dc06", proxy={"failed": True, "error": "win_whoami failed on the host: Access is denied",
                            "msg": "win_whoami failed on the host: Access is denied"}),
        host("dc07", proxy={"unreachable": True, "msg": "The connection to the host dropped during reg import",
                            "written": [SYSTEM], "maybe_written": [LOCAL_SERVICE], "dropped_at": "during reg import",
                            "backup_file": BACKUP % ("20261122", 7)}),
        summary.row_for("dc08", {}),
    ]


def fleet(count: int = 500, seed: int = 15) -> list:
    """A fleet as a real run leaves it: mostly in sync, some drifted or changed, a few failures, and the proxy
    blocking one CRL host for a site."""
    rng = random.Random(seed)
    rows = []
    for index in range(1, count + 1):
        name = "dc%03d.%s.corp.example" % (index, rng.choice(["ber", "fra", "muc", "ham", "lon", "par"]))
        roll = rng.random()
        site_blocks_crl = index % 7 == 0
        crl = ("blocked_by_proxy", 403) if site_blocks_crl else ("reachable", 200)
        probes = [healthy("LocalService", *crl), healthy("SYSTEM", *crl)]
        if roll < 0.70:
            row = host(name, proxy=proxy_result([target(SYSTEM, "identical"), target(LOCAL_SERVICE, "identical")],
                                                write=True), probes=probes)
        elif roll < 0.84:
            row = host(name, proxy=proxy_result([target(SYSTEM, "different", OLD), target(LOCAL_SERVICE, "identical")],
                                                write=True, backup=BACKUP % ("20261201", index % 60)), probes=probes)
        elif roll < 0.90:
            probes[0] = probe("LocalService", [(PING, "proxy_auth_required", 407)] + [(e, *crl) for e in CRL])
            row = host(name, proxy=proxy_result([target(SYSTEM, "identical"),
                                                 target(LOCAL_SERVICE, "missing", "(absent)")],
                                                write=True, backup=BACKUP % ("20261201", index % 60)), probes=probes)
        elif roll < 0.94:
            row = host(name, proxy=proxy_result([target(SYSTEM, "identical"),
                                                 target(LOCAL_SERVICE, "hive_not_loaded", "(hive not loaded)")],
                                                write=True))
        elif roll < 0.97:
            row = host(name, proxy={"failed": True, "error": "win_whoami failed on the host: Access is denied",
                                    "msg": "win_whoami failed on the host: Access is denied"})
        elif roll < 0.985:
            row = host(name, proxy={"unreachable": True, "written": [SYSTEM], "maybe_written": [LOCAL_SERVICE],
                                    "dropped_at": "during reg import", "backup_file": BACKUP % ("20261201", 9),
                                    "msg": "The connection to the host dropped during reg import"})
        else:
            row = summary.row_for(name, {})
        rows.append(row)
    return rows
