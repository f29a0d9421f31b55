# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who reads Graph and where: the application's identity and credential (from the task, or whole from the
environment the collection's AWX credential type fills), and the token service and Graph root of its cloud.

Pure Python, no Ansible imports.

* **Clouds**: the token service and Graph root of each cloud (microsoft-graph-docs-contrib
  ``concepts/deployments.md``): global (and GCC, which keeps the worldwide endpoints)
  ``login.microsoftonline.com`` + ``graph.microsoft.com``; GCC High (US Government L4)
  ``login.microsoftonline.us`` + ``graph.microsoft.us``; DoD (L5) ``login.microsoftonline.us`` +
  ``dod-graph.microsoft.us``. China (21Vianet) is not offered: the identities sensor and health issue APIs are
  documented as not available there (``includes/global-us.md``, the table on every page of these APIs).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# cloud -> (token service root, Graph root); see the module docstring for the source.
CLOUDS = {
    "commercial": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "gcc": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "gcc_high": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "dod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
}


# Where the options come from when a task does not give them: what the collection's AWX credential type injects
# (awx/credential_types.yml). The credential is taken whole from one source, the task or the environment.
ENV = {
    "tenant_id": "ATP_GRAPH_TENANT_ID",
    "client_id": "ATP_GRAPH_CLIENT_ID",
    "client_secret": "ATP_GRAPH_CLIENT_SECRET",
    "certificate_path": "ATP_GRAPH_CERTIFICATE_PATH",
    "certificate_password": "ATP_GRAPH_CERTIFICATE_PASSWORD",
    "cloud": "ATP_GRAPH_CLOUD",
}
CREDENTIAL_OPTIONS = ("client_secret", "certificate_path", "certificate_password")


def _given(value) -> bool:
    return value not in (None, "")


def identity(args: dict, environ) -> dict:
    """``{tenant_id, client_id, cloud, client_secret, certificate_path, certificate_password, source}`` from the
    task's options, each missing one from the environment (:data:`ENV`). Raises ValueError naming every problem."""
    problems = []
    out = {}
    for name in ("tenant_id", "client_id"):
        out[name] = str(args[name]) if _given(args.get(name)) else (environ.get(ENV[name]) or None)
        if not out[name]:
            problems.append("%s is required (or set %s)" % (name, ENV[name]))
    cloud = args.get("cloud") if _given(args.get("cloud")) else (environ.get(ENV["cloud"]) or "commercial")
    if cloud not in CLOUDS:
        problems.append("%s: '%s' is not a cloud of these APIs (%s)" % (
            "cloud" if _given(args.get("cloud")) else ENV["cloud"], cloud, ", ".join(CLOUDS)))
    out["cloud"] = cloud
    from_task = any(_given(args.get(n)) for n in CREDENTIAL_OPTIONS)
    source = args if from_task else {n: environ.get(ENV[n]) for n in CREDENTIAL_OPTIONS}
    names = {n: n if from_task else ENV[n] for n in CREDENTIAL_OPTIONS}
    for name in CREDENTIAL_OPTIONS:
        out[name] = str(source[name]) if _given(source.get(name)) else None
    if out["client_secret"] and out["certificate_path"]:
        problems.append("%s and %s are mutually exclusive: give one" % (names["client_secret"],
                                                                        names["certificate_path"]))
    elif not out["client_secret"] and not out["certificate_path"]:
        problems.append("no credential: give client_secret or certificate_path (or set %s or %s)"
                        % (ENV["client_secret"], ENV["certificate_path"]))
    if out["certificate_password"] and not out["certificate_path"]:
        problems.append("%s needs %s" % (names["certificate_password"], names["certificate_path"]))
    if problems:
        raise ValueError("; ".join(problems))
    out["source"] = "task" if from_task else "environment"
    return out


def endpoints(cloud: str, graph_endpoint: str | None = None, authority: str | None = None) -> tuple:
    """``(token service root, Graph root)`` for ``cloud``, either replaced by an explicit override."""
    login, graph = CLOUDS[cloud]
    return (_root(authority) if authority else login), (_root(graph_endpoint) if graph_endpoint else graph)


def _root(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("'%s' is not an https:// URL" % url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
