# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``via: target``, engine ``script``: the probe script's raw facts (:mod:`_probe._script`) as probe results.

Pure Python, no Ansible imports. The outcomes and hints are those of :mod:`_probe._outcomes`, applied as for
``win_uri`` (:func:`_probe._target.classify_win_uri`), on structure only: the ``WebExceptionStatus`` of a failure
is the same in every language, so no .NET message is read except for the proxy name .NET quotes.

1. No fact for a request: ``unknown``; a request still running at the run's deadline: ``timeout``.
2. An HTTP status (a response, or a ``WebException`` that carries one): :func:`_probe._outcomes.classify_http`,
   ``method: CONNECT`` marking the proxy's answer to the tunnel request. For HTTPS the handshake completed and the
   host's validation callback saw the certificate: with ``validate_certs`` a ``SslPolicyErrors`` other than
   ``None`` is ``tls_error`` (``trust``), what win_uri reports (its request fails there, so no status either).
3. The ``WebExceptionStatus``: ``NameResolutionFailure`` (the URL's host: the account resolved it itself, so it
   went direct) ``dns_failure``; ``ProxyNameResolutionFailure`` ``proxy_unreachable``; ``elapsed`` reaching the
   timeout or ``Timeout`` ``timeout``; ``ConnectFailure`` ``proxy_unreachable`` when a proxy is known for the route,
   else ``connection_refused``; ``TrustFailure`` ``tls_error`` (``trust``); ``SecureChannelFailure`` and, for HTTPS,
   ``SendFailure`` ``tls_error`` (``handshake``); ``ConnectionClosed`` ``connection_refused`` (``reset``); anything
   else ``unknown`` with the type, status and message in ``error``.
4. TLS inspection, from the chain the host received: the issuer of the server certificate against the expected
   issuers (:func:`_probe._outcomes.with_inspection`, the rule the controller-side probe applies).
5. The script failed as a whole: a failed ``become`` (the exec wrapper's markers, :func:`_probe._target.become_cause`)
   is ``become_failed`` for every request; any other failure is ``unknown`` with the script's error.
6. Whom it ran as: the identity the script ran under (``WindowsIdentity.GetCurrent()``, :func:`identity`). When the
   task becomes a well-known service account and the script ran as anyone else, its results are not that account's
   (:func:`identity_error`).
"""

from __future__ import annotations

import base64

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _libraries as libraries
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _script as script
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _target as target

TUNNEL_METHOD = "CONNECT"
NO_POLICY_ERRORS = "None"


def header_names() -> list:
    """The response headers the classifier reads (``_probe._outcomes.PROXY_MARKER_HEADERS`` and ``Server``), as
    HTTP writes them: ``x_squid_error`` -> ``X-Squid-Error``."""
    names = list(outcomes.PROXY_MARKER_HEADERS) + ["server"]
    return ["-".join(part.capitalize() for part in name.split("_")) for name in names]


def plan(endpoints, modes) -> list:
    """``[(endpoint, mode)]`` in the order of the results: catalogue order, each URL's modes in the order asked."""
    return [(endpoint, mode) for endpoint in endpoints for mode in modes]


def module_args(requests, timeout: int, named_proxy=None, proxy_username=None, proxy_password=None) -> dict:
    return script.module_args([(e.url, m) for e, m in requests], timeout, named_proxy, proxy_username,
                              proxy_password, header_names())


def script_failure(result: dict) -> str | None:
    """Why the script's result holds no facts (it failed, or an error record was written), None when it holds them."""
    data = result.get("result") if isinstance(result.get("result"), dict) else {}
    errors = [e for e in result.get("error") or [] if isinstance(e, dict)]
    if not result.get("failed") and not errors and isinstance(data.get("facts"), list):
        return None
    messages = [str(((e.get("exception") or {}).get("message")) or e.get("output") or "").strip() for e in errors]
    why = "; ".join(m for m in messages if m) or str(result.get("msg") or "no error message")
    reading = data.get("reading")
    return "the probe script failed%s: %s" % (" while reading %s" % reading if reading else "", why)


def facts_for(result: dict, requests) -> list:
    """The fact of each request of the plan, in its order (None where the script returned none)."""
    data = result.get("result") if isinstance(result.get("result"), dict) else {}
    by_key = {}
    for fact in data.get("facts") or []:
        if isinstance(fact, dict):
            by_key.setdefault((fact.get("url"), fact.get("mode")), fact)
    return [by_key.get((endpoint.url, mode)) for endpoint, mode in requests]


def _issuer(fact: dict) -> str | None:
    """The issuer (RFC 4514) of the certificate the host received, as the controller reads one."""
    der = fact.get("certificate")
    if der and libraries.HAS_CRYPTOGRAPHY:
        try:
            return libraries.x509.load_der_x509_certificate(base64.b64decode(der)).issuer.rfc4514_string()
        except ValueError:
            pass
    chain = fact.get("chain") or []
    return (chain[0] or {}).get("issuer") if chain and isinstance(chain[0], dict) else None


def _chain_text(fact: dict) -> str:
    chain = [c for c in fact.get("chain") or [] if isinstance(c, dict)]
    names = " <- ".join(str(c.get("subject") or "?") for c in chain)
    status = ", ".join(str(s.get("status")) for s in fact.get("chain_status") or [] if isinstance(s, dict))
    return "%s%s" % (names or "no chain", "; chain status %s" % status if status else "")


def _tls_facts(fact: dict | None) -> dict:
    fact = fact or {}
    return {"tls_chain": [c for c in fact.get("chain") or [] if isinstance(c, dict)],
            "tls_chain_status": [s for s in fact.get("chain_status") or [] if isinstance(s, dict)],
            "tls_policy_errors": fact.get("policy_errors")}


def classify_fact(endpoint, fact: dict | None, *, mode: str = "default", expected_proxy: str | None = None,
                  named_proxy: str | None = None, account: str | None = None, timeout: float = outcomes.DEFAULT_TIMEOUT,
                  validate_certs: bool = True, expected_issuers=outcomes.DEFAULT_EXPECTED_ISSUERS,
                  source: str = outcomes.WININET_PER_ACCOUNT) -> dict:
    """One fact of the probe script as one probe result (the module docstring gives the order of the rules);
    ``source``: where the host's sensor takes its proxy from, which the hints name (``_probe._outcomes.SOURCES``)."""
    proxy = target.mode_proxy(endpoint, mode, expected_proxy, named_proxy)
    plain = endpoint.scheme != "https"
    fact_elapsed = (fact or {}).get("elapsed")
    common = {"via": "target", "mode": mode, "elapsed": fact_elapsed if isinstance(fact_elapsed, (int, float)) else 0,
              "account": account, "timeout": timeout, "expected_issuers": expected_issuers, "source": source,
              "tls_inspection_detail": "plain HTTP: no TLS" if plain else "no TLS handshake completed"}
    hint = {"via": "target", "account": account, "timeout": timeout, "source": source}

    def done(result: dict) -> dict:
        result.update(_tls_facts(fact))
        return result

    if not isinstance(fact, dict):
        return done(outcomes.make_result(endpoint, "unknown", proxy=proxy,
                                         error="the probe script returned no fact for this request", **common))
    if fact.get("finished") is False:
        return done(outcomes.make_result(
            endpoint, "timeout", proxy=proxy, error="no answer when the probe's run ended (still running after %.1f s)"
            % float(fact_elapsed or 0), **common))
    failure = fact.get("exception") if isinstance(fact.get("exception"), dict) else {}
    status = target._status_int(fact.get("status"))
    if status is not None:
        connect_refused = str(fact.get("method") or "").upper() == TUNNEL_METHOD
        outcome = outcomes.classify_http(endpoint, status, fact.get("headers") or {}, connect_refused=connect_refused)
        if plain or connect_refused:
            return done(outcomes.make_result(endpoint, outcome, status=status, proxy=proxy, **common))
        errors = str(fact.get("policy_errors") or "")
        if validate_certs and errors and errors != NO_POLICY_ERRORS:
            error = ("the certificate did not validate on the host (%s; %s); the probe's callback accepted it to see "
                     "it" % (errors, _chain_text(fact)))
            result = outcomes.make_result(endpoint, "tls_error", proxy=proxy, error=error, cause="trust", **common)
        else:
            result = outcomes.make_result(endpoint, outcome, status=status, proxy=proxy, **common)
        issuer = _issuer(fact)
        why = None if issuer else "the host's validation callback saw no certificate"
        how = "seen by the host in the chain it received (%s)" % _chain_text(fact)
        return done(outcomes.with_inspection(result, endpoint, issuer, why, how, expected_issuers=expected_issuers,
                                             **hint))

    kind = str(failure.get("status") or "")
    message = str(failure.get("message") or "")
    error = "%s (%s): %s" % (failure.get("type") or "exception", kind or "no status", message) if failure else \
        "the request returned neither an answer nor an exception"

    def result(outcome, **extra):
        extra.setdefault("proxy", proxy)
        return done(outcomes.make_result(endpoint, outcome, error=error, **dict(common, **extra)))

    if kind == "NameResolutionFailure":
        return result("dns_failure", proxy=outcomes.DIRECT)  # with a proxy the client never resolves the name
    if kind == "ProxyNameResolutionFailure":
        name = target.quoted_name(message)
        return result("proxy_unreachable", proxy=target.unresolved_proxy(name, proxy) if name else proxy)
    elapsed = fact.get("elapsed")
    if kind == "Timeout" or (isinstance(elapsed, (int, float)) and timeout and elapsed >= timeout - 0.05):
        return result("timeout")
    if kind == "ConnectFailure":
        return result("proxy_unreachable" if proxy and proxy != outcomes.DIRECT else "connection_refused")
    if not plain and kind == "TrustFailure":
        return result("tls_error", cause="trust")
    if not plain and kind in ("SecureChannelFailure", "SendFailure"):
        return result("tls_error", cause="handshake")
    if kind == "ConnectionClosed":
        return result("connection_refused", cause="reset")
    return result("unknown")


def classify_failure(endpoint, raw: dict, why: str, *, mode: str, expected_proxy=None, named_proxy=None,
                     account=None, become=False, timeout=outcomes.DEFAULT_TIMEOUT,
                     expected_issuers=outcomes.DEFAULT_EXPECTED_ISSUERS, source=outcomes.WININET_PER_ACCOUNT) -> dict:
    """A request of a script that did not run, or failed as a whole."""
    proxy = target.mode_proxy(endpoint, mode, expected_proxy, named_proxy)
    common = {"via": "target", "mode": mode, "account": account, "timeout": timeout,
              "expected_issuers": expected_issuers, "source": source,
              "tls_inspection_detail": "plain HTTP: no TLS" if endpoint.scheme != "https" else
              "no TLS handshake completed"}
    text = "\n".join([str(raw.get("msg") or ""), target.exception_text(raw.get("exception")),
                      str(raw.get("module_stderr") or "")])
    cause = target.become_cause(text) if become and "result" not in raw else None
    if cause:
        error = str(raw.get("msg") or why)
        result = outcomes.make_result(endpoint, "become_failed", proxy=proxy, error=error, cause=cause, **common)
    else:
        result = outcomes.make_result(endpoint, "unknown", proxy=proxy, error=why, **common)
    result.update(_tls_facts(None))
    return result


def identity(result: dict) -> dict | None:
    """``{name, sid}``: whom the script ran as (its ``user``, from ``WindowsIdentity.GetCurrent()``), the SID in
    canonical form; None when the result has none (the script did not get that far)."""
    data = result.get("result") if isinstance(result.get("result"), dict) else {}
    user = data.get("user") if isinstance(data.get("user"), dict) else {}
    sid = _accounts.canonical_sid(str(user.get("sid") or ""))
    if not sid:
        return None
    return {"name": str(user.get("name") or ""), "sid": sid}


def identity_error(ran_as: dict | None, become: bool, become_user: str | None) -> str | None:
    """Why the results are not the become user's, or None. Judged only when the task becomes a well-known service
    account (whose SID is known here) and the script said whom it ran as: another identity means become did not
    take effect for this run, so what it reached is someone else's network path."""
    asked = _accounts.become_account(become_user) if become else None
    if asked is None or ran_as is None or ran_as["sid"] == asked.sid:
        return None
    return ("the probe script ran as %s (%s), not as %s (%s), the become_user: its results are not %s's (become did "
            "not take effect for this run)" % (ran_as["name"] or "?", ran_as["sid"], asked.become_user, asked.sid,
                                               asked.become_user))


def run(execute, requests, *, timeout, named_proxy=None, proxy_username=None, proxy_password=None,
        expected_proxy=None, account=None, become=False, validate_certs=True,
        expected_issuers=outcomes.DEFAULT_EXPECTED_ISSUERS, source=outcomes.WININET_PER_ACCOUNT) -> tuple:
    """ONE ``win_powershell`` run of the probe script for every request of the plan: ``(results, ran_as)``, a result
    per request and whom the script ran as (:func:`identity`; None without requests, as nothing ran)."""
    if not requests:
        return [], None
    raw = execute(script.MODULE, module_args(requests, timeout, named_proxy, proxy_username, proxy_password))
    why = script_failure(raw)
    options = {"expected_proxy": expected_proxy, "named_proxy": named_proxy, "account": account, "timeout": timeout,
               "expected_issuers": expected_issuers, "source": source}
    if why:
        return [classify_failure(endpoint, raw, why, mode=mode, become=become, **options)
                for endpoint, mode in requests], identity(raw)
    facts = facts_for(raw, requests)
    return [classify_fact(endpoint, facts[index], mode=mode, validate_certs=validate_certs, **options)
            for index, (endpoint, mode) in enumerate(requests)], identity(raw)
