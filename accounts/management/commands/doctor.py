"""`manage.py doctor`: check the live configuration against the pool.

One line per finding, with what to do about it; exit status 1 when any finding
is a problem. Run it with the site's own environment. The pool and app-client
checks need credentials allowed cognito-idp:DescribeUserPool and
cognito-idp:DescribeUserPoolClient; without them those checks are skipped, and
each skipped one is named. Neither the configured secret nor the app client's
is ever printed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.views.decorators.debug import sensitive_variables

from accounts import cognito, cognito_pool
from accounts.policy import PasswordPolicy

OK, PROBLEM, WARNING, SKIPPED = "ok", "problem", "warning", "skipped"
SETUP = "docs/cognito-setup.md"

CLIENT_CHECKS = (
    "app client",
    "client secret",
    "PreventUserExistenceErrors",
    "EnablePropagateAdditionalUserContextData",
)
POOL_CHECKS = ("CustomMessage trigger", "AccountRecoverySetting", "password policy")


@dataclass(frozen=True)
class Finding:
    status: str
    check: str
    text: str

    def line(self) -> str:
        return f"{self.status.upper():<8} {self.check}: {self.text}"


def _skipped(checks: tuple[str, ...], why: str) -> list[Finding]:
    return [Finding(SKIPPED, check, why) for check in checks]


def _describe_failure(operation: str, code: str, what: str) -> str | None:
    """A finding's text for a failed describe call, or None if it means 'no permission'."""
    if code in ("AccessDeniedException", "UnrecognizedClientException"):
        return None
    if code == "ResourceNotFoundException":
        return what
    return f"{operation} failed ({code}); run again, and check the endpoint and the region."


@sensitive_variables()
def check_client(cfg: cognito.CognitoSettings, app_client: dict[str, Any]) -> list[Finding]:
    findings = [Finding(OK, "app client", f"{cfg.client_id} exists in {cfg.user_pool_id}.")]
    actual = app_client.get("ClientSecret") or ""
    configured = cfg.client_secret or ""
    if actual and configured:
        if hmac.compare_digest(actual.encode(), configured.encode()):
            findings.append(Finding(OK, "client secret", "matches the app client's secret."))
        else:
            findings.append(
                Finding(
                    PROBLEM,
                    "client secret",
                    "COGNITO_CLIENT_SECRET does not match the app client's secret (neither "
                    "is shown). Copy the secret again from the app client; every call "
                    "fails with NotAuthorizedException until it matches.",
                )
            )
    elif actual:
        findings.append(
            Finding(
                PROBLEM,
                "client secret",
                "the app client has a secret but none is configured. Set "
                "COGNITO_CLIENT_SECRET or COGNITO_CLIENT_SECRET_FILE.",
            )
        )
    elif configured:
        findings.append(
            Finding(
                PROBLEM,
                "client secret",
                "a secret is configured but the app client has none, so Cognito refuses "
                "the SecretHash the site sends. Unset COGNITO_CLIENT_SECRET, or use an app "
                f"client with a secret ({SETUP}, section 1).",
            )
        )
    else:
        findings.append(
            Finding(OK, "client secret", "neither the app client nor the site has one.")
        )

    existence = app_client.get("PreventUserExistenceErrors") or "LEGACY"
    if existence == "ENABLED":
        findings.append(Finding(OK, "PreventUserExistenceErrors", "ENABLED."))
    else:
        findings.append(
            Finding(
                PROBLEM,
                "PreventUserExistenceErrors",
                f"is {existence}: Cognito tells callers of this client which accounts exist. "
                "Set it to ENABLED on the app client.",
            )
        )

    propagate = bool(app_client.get("EnablePropagateAdditionalUserContextData"))
    if not actual:
        findings.append(
            Finding(
                WARNING,
                "EnablePropagateAdditionalUserContextData",
                "the app client has no secret, so Cognito takes no user IP address from the "
                f"site and threat protection sees only the site's. Use a client with a secret "
                f"({SETUP}, section 1).",
            )
        )
    elif propagate:
        findings.append(Finding(OK, "EnablePropagateAdditionalUserContextData", "on."))
    else:
        findings.append(
            Finding(
                PROBLEM,
                "EnablePropagateAdditionalUserContextData",
                "is off, but the site sends the user's IP address. Turn it on for the app "
                "client, or Cognito's threat protection sees no user's address.",
            )
        )
    return findings


def _describe_policy(policy: PasswordPolicy) -> str:
    classes = [
        name
        for name, required in (
            ("uppercase", policy.require_uppercase),
            ("lowercase", policy.require_lowercase),
            ("number", policy.require_numbers),
            ("symbol", policy.require_symbols),
        )
        if required
    ]
    return f"at least {policy.minimum_length} characters" + (
        f" with {', '.join(classes)}" if classes else ""
    )


def check_pool(cfg: cognito.CognitoSettings, pool: dict[str, Any]) -> list[Finding]:
    findings = []
    trigger = (pool.get("LambdaConfig") or {}).get("CustomMessage")
    if trigger:
        findings.append(Finding(OK, "CustomMessage trigger", f"attached ({trigger})."))
    else:
        findings.append(
            Finding(
                PROBLEM,
                "CustomMessage trigger",
                "none attached, so the reset email has no link to the site. Attach "
                f"contrib/cognito_custom_message ({SETUP}, section 3).",
            )
        )

    mechanisms = (pool.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms") or []
    ordered = [m.get("Name") for m in sorted(mechanisms, key=lambda m: m.get("Priority", 99))]
    if ordered and ordered[0] == "verified_email":
        findings.append(Finding(OK, "AccountRecoverySetting", "verified email comes first."))
    else:
        now = ", ".join(str(name) for name in ordered) if ordered else "not set"
        findings.append(
            Finding(
                PROBLEM,
                "AccountRecoverySetting",
                f"{now}: codes may go by SMS (or not at all), without the link to the site. "
                "Make verified_email the first recovery mechanism.",
            )
        )

    raw = (pool.get("Policies") or {}).get("PasswordPolicy")
    actual = PasswordPolicy.from_cognito(dict(raw) if raw else None)
    if cfg.policy_override is not None:
        shown, source = (
            PasswordPolicy.from_cognito(cfg.policy_override),
            "COGNITO_PASSWORD_POLICY's",
        )
    elif cfg.read_policy == "true" or (
        cfg.read_policy == "auto" and cognito_pool.has_credentials()
    ):
        shown, source = actual, "the pool's"
    else:
        shown, source = PasswordPolicy(), "Cognito's defaults, as it does not read the pool"
    if shown == actual:
        findings.append(
            Finding(
                OK, "password policy", f"the site shows the pool's: {_describe_policy(actual)}."
            )
        )
    else:
        findings.append(
            Finding(
                PROBLEM,
                "password policy",
                f"the site shows {source}, {_describe_policy(shown)}, but the pool asks for "
                f"{_describe_policy(actual)}. Fix COGNITO_PASSWORD_POLICY, or let the site "
                "read the pool (COGNITO_READ_POLICY and cognito-idp:DescribeUserPool).",
            )
        )
    return findings


def diagnose(cfg: cognito.CognitoSettings) -> list[Finding]:
    findings = []
    url = cognito_pool.endpoint_url(cfg)
    unreachable = cognito_pool.endpoint_problem(cfg)
    if unreachable:
        findings.append(
            Finding(
                PROBLEM,
                "endpoint",
                f"{url} cannot be reached ({unreachable}). Check the network path, a proxy, "
                "COGNITO_REGION and COGNITO_ENDPOINT_URL.",
            )
        )
        return findings + _skipped(CLIENT_CHECKS + POOL_CHECKS, "the endpoint cannot be reached.")
    findings.append(Finding(OK, "endpoint", f"{url} answers."))

    if not cognito_pool.has_credentials():
        return findings + _skipped(
            CLIENT_CHECKS + POOL_CHECKS,
            "no AWS credentials. Run again with credentials allowed "
            "cognito-idp:DescribeUserPool and cognito-idp:DescribeUserPoolClient.",
        )

    try:
        pool: dict[str, Any] | None = cognito_pool.describe_pool(cfg)
    except cognito_pool.DescribeFailed as exc:
        text = _describe_failure(
            "DescribeUserPool", exc.code, f"the pool {cfg.user_pool_id} does not exist here."
        )
        if text is not None:
            return [
                *findings,
                Finding(PROBLEM, "user pool", f"{text} Check COGNITO_USER_POOL_ID and the region."),
                *_skipped(CLIENT_CHECKS + POOL_CHECKS, "the pool could not be read."),
            ]
        pool = None

    try:
        findings += check_client(cfg, cognito_pool.describe_app_client(cfg))
    except cognito_pool.DescribeFailed as exc:
        text = _describe_failure(
            "DescribeUserPoolClient",
            exc.code,
            f"{cfg.client_id} is not an app client of {cfg.user_pool_id}. Check COGNITO_CLIENT_ID.",
        )
        if text is None:
            findings += _skipped(CLIENT_CHECKS, "these credentials may not DescribeUserPoolClient.")
        else:
            findings.append(Finding(PROBLEM, "app client", text))
            findings += _skipped(CLIENT_CHECKS[1:], "the app client could not be read.")

    if pool is None:
        findings += _skipped(POOL_CHECKS, "these credentials may not DescribeUserPool.")
    else:
        findings += check_pool(cfg, pool)
    return findings


class Command(BaseCommand):
    help = "Check the site's configuration against the Cognito user pool."

    def handle(self, *args: Any, **options: Any) -> None:
        findings = diagnose(cognito.config())
        for finding in findings:
            self.stdout.write(finding.line())
        problems = sum(1 for f in findings if f.status == PROBLEM)
        skipped = sum(1 for f in findings if f.status == SKIPPED)
        summary = f"{problems} problem(s), {skipped} check(s) skipped."
        if problems:
            raise CommandError(summary, returncode=1)
        self.stdout.write(summary)
