"""Settings of one ``extci report`` invocation: flags first, then ``EXTCI_*`` variables."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import NamedTuple

from extci.durations import parse_duration
from extci.reporter.detect import CIContext, pipeline_id
from extci.reporter.errors import ExitCode, ReporterError
from extci.reporter.transport import RetryPolicy


def duration_seconds(text: str) -> float:
    """A duration (extci.durations: ``90``, ``500ms``, ``1.5m``, ``7d``) in seconds, for
    argparse ``type=``."""
    try:
        return parse_duration(text).total_seconds()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} ({error})") from None


class Settings(NamedTuple):
    url: str | None
    ci_key: str | None
    component: str | None
    explicit_pipeline_id: str | None
    policy: RetryPolicy
    dry_run: bool
    quiet: bool
    # Keyless (OIDC): a token handed over in EXTCI_ID_TOKEN (GitLab `id_tokens:`), or
    # GitHub Actions' token request URL and bearer, asked for a token with ``audience``.
    id_token: str | None = None
    oidc_request: tuple[str, str] | None = None
    audience: str = "extci"

    @classmethod
    def from_args(cls, args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
        def pick(flag: str | None, name: str) -> str | None:
            return flag or env.get(name, "").strip() or None

        retry_for = args.retry_for
        if retry_for is None:
            try:
                retry_for = duration_seconds(env.get("EXTCI_RETRY_FOR") or "60s")
            except argparse.ArgumentTypeError as error:
                raise ReporterError(f"EXTCI_RETRY_FOR: {error}", ExitCode.USAGE) from None
        return cls(
            url=pick(args.server_url, "EXTCI_URL"),
            ci_key=pick(args.ci_key, "EXTCI_CI_KEY"),
            component=pick(args.component, "EXTCI_COMPONENT"),
            explicit_pipeline_id=pick(args.pipeline_id, "EXTCI_PIPELINE_ID"),
            policy=RetryPolicy(retry_for=retry_for, timeout=args.timeout),
            dry_run=args.dry_run,
            quiet=args.quiet,
            id_token=pick(None, "EXTCI_ID_TOKEN"),
            oidc_request=_github_token_request(env),
            audience=pick(None, "EXTCI_OIDC_AUDIENCE") or "extci",
        )

    @property
    def keyless(self) -> bool:
        """No CI key, but an OIDC identity token at hand (or to be asked for)."""
        return not self.ci_key and bool(self.id_token or self.oidc_request)

    def require_server(self) -> str:
        """The server's URL and a credential (a CI key or, keyless, an identity token),
        needed unless this is a dry run."""
        missing = [
            name
            for name, value in (("EXTCI_URL", self.url), ("EXTCI_CI_KEY", self.ci_key))
            if not value and not (name == "EXTCI_CI_KEY" and self.keyless)
        ]
        if missing:
            raise ReporterError(
                f"missing configuration: set {' and '.join(missing)} (or --server-url / --ci-key)"
                + (
                    "; keyless: EXTCI_ID_TOKEN, or `permissions: id-token: write` on GitHub"
                    if "EXTCI_CI_KEY" in missing
                    else ""
                ),
                ExitCode.USAGE,
            )
        assert self.url is not None
        return self.url

    def require_component(self) -> str:
        if not self.component:
            raise ReporterError(
                "missing configuration: set EXTCI_COMPONENT (or --component)", ExitCode.USAGE
            )
        return self.component

    def pipeline_id(self, ctx: CIContext) -> str:
        """An explicit id wins; in a known CI it is derived from the run; else an error."""
        if self.explicit_pipeline_id:
            return self.explicit_pipeline_id
        if ctx.run_key is None:
            where = "outside a known CI" if ctx.system == "local" else f"in {ctx.system}"
            raise ReporterError(
                f"no pipeline id {where}: set EXTCI_PIPELINE_ID (or --pipeline-id) "
                "to an id unique to this run",
                ExitCode.USAGE,
            )
        if not self.component:
            raise ReporterError(
                "missing configuration: set EXTCI_COMPONENT (or --component); the pipeline id "
                "is derived from it, or set EXTCI_PIPELINE_ID",
                ExitCode.USAGE,
            )
        return pipeline_id(self.component, ctx.run_key)


def _github_token_request(env: Mapping[str, str]) -> tuple[str, str] | None:
    """GitHub Actions' OIDC token endpoint and its bearer, present in a job that has
    ``permissions: id-token: write``."""
    url = env.get("ACTIONS_ID_TOKEN_REQUEST_URL", "").strip()
    token = env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "").strip()
    return (url, token) if url and token else None
