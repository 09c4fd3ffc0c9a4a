"""``extci report start|result|end|run``: the CI side of the webhook contract.

Standard library only: this is what the server serves as ``/downloads/extci-report.pyz``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

from extci.reporter.client import Reporter, stderr_log
from extci.reporter.config import Settings, duration_seconds
from extci.reporter.detect import Actor, CIContext, detect_ci, strip_credentials, with_local_git
from extci.reporter.errors import ExitCode, ReporterError
from extci.reporter.events import END_RESULTS, Event, end_event, result_event, start_event
from extci.reporter.items import (
    RESULT_TYPES,
    Item,
    ItemSpec,
    ItemSyntaxError,
    complete_item,
    describe_types,
    parse_items,
)

Handler = Callable[[argparse.Namespace, Settings, CIContext, Reporter], int]

# Only ``start`` without a version and ``end`` can do without git; the others ask git in the
# working directory for what the CI's variables did not say.

EXIT_CODES = """\
exit codes:
  0   every event was accepted (run: and the command exited 0)
  2   bad arguments or missing configuration
  65  the server rejected an event (400, 404, 409, 413, 415)
  70  the server failed (500)
  75  server unreachable, or 429/503 until --retry-for ran out
  76  an answer that is not extci's (redirect, not JSON)
  77  401/403: the CI key is wrong or not for this component
run exits with the command's own code; 128+N when cancelled by signal N
(130 for SIGINT, 143 for SIGTERM); 127/126 when the command cannot be started."""

ITEMS_HELP = f"""\
result items are written TYPE --field value ..., one after the other:
{describe_types()}
git-revision alone takes its fields from the CI (or git); given flags override."""


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection (flags win over the environment)")
    group.add_argument("--server-url", metavar="URL", help="extci base URL [EXTCI_URL]")
    group.add_argument("--ci-key", metavar="KEY", help="CI key; prefer the variable [EXTCI_CI_KEY]")
    group.add_argument("--component", metavar="ID", help="component id [EXTCI_COMPONENT]")
    group.add_argument(
        "--pipeline-id",
        metavar="ID",
        help="run id; derived from the CI when absent [EXTCI_PIPELINE_ID]",
    )
    group.add_argument(
        "--retry-for",
        type=duration_seconds,
        metavar="DURATION",
        help="total time spent retrying one event, e.g. 60s, 1.5m [EXTCI_RETRY_FOR, 60s]",
    )
    group.add_argument(
        "--timeout", type=duration_seconds, default=30.0, metavar="DURATION",
        help="timeout of one request (default 30s)",
    )  # fmt: skip
    group.add_argument(
        "--dry-run", action="store_true", help="print each event's JSON instead of sending"
    )
    group.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return common


def _start_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version",
        dest="build_version",
        metavar="V",
        help="version being built [EXTCI_BUILD_VERSION]; default: the git tag being "
        "built, else the first 12 characters of the commit sha",
    )
    parser.add_argument("--pipeline-name", metavar="N", help="name of the pipeline")
    parser.add_argument("--dashboard-url", metavar="URL", help="override the detected run page")
    parser.add_argument("--actor", metavar="USERNAME", help="override the detected actor")
    parser.add_argument("--actor-fullname", metavar="NAME", help="actor's full name")


ACTIONS = ("start", "result", "end", "run")


def register(sub: Any, only: str | None = None) -> None:
    """Add ``report`` and its actions to the ``extci`` parser (``only``: just that action,
    when the command line already names it)."""
    fmt = argparse.RawDescriptionHelpFormatter
    report: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="send CI events (start, results, end) to an extci server",
        description="Report a pipeline run to extci. See docs/ci-setup.md.",
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    actions = report.add_subparsers(dest="report_action", metavar="ACTION")
    actions.required = True
    common = _common_options()

    if only in (None, "start"):
        _add_start(actions, common)
    if only in (None, "result"):
        _add_result(actions, common)
    if only in (None, "end"):
        _add_end(actions, common)
    if only in (None, "run"):
        _add_run(actions, common)


def _action(
    actions: Any,
    common: argparse.ArgumentParser,
    name: str,
    help: str,
    *,
    usage: str | None = None,
    epilog: str = EXIT_CODES,
) -> argparse.ArgumentParser:
    """One action of ``extci report``: the common options, and help text as written."""
    parser: argparse.ArgumentParser = actions.add_parser(
        name,
        parents=[common],
        help=help,
        usage=usage,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _add_start(actions: Any, common: argparse.ArgumentParser) -> None:
    start = _action(actions, common, "start", "open a build")
    _start_options(start)
    start.set_defaults(handler=_wrap(_handle_start, git=False))


def _add_result(actions: Any, common: argparse.ArgumentParser) -> None:
    usage = "extci report result [options] TYPE [--field value ...] [TYPE ...]"
    epilog = f"{ITEMS_HELP}\n\n{EXIT_CODES}"
    result = _action(
        actions, common, "result", "attach result items to the build", usage=usage, epilog=epilog
    )
    result.add_argument("items", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    result.set_defaults(handler=_wrap(_handle_result))


def _add_end(actions: Any, common: argparse.ArgumentParser) -> None:
    end = _action(actions, common, "end", "close the build")
    end.add_argument("--result", required=True, choices=END_RESULTS, dest="end_result")
    end.set_defaults(handler=_wrap(_handle_end, git=False))


def _add_run(actions: Any, common: argparse.ArgumentParser) -> None:
    usage = "extci report run [options] [TYPE --field value ...] -- COMMAND [ARG ...]"
    epilog = (
        f"{ITEMS_HELP}\nrun sends git-revision/git-tag right after start, the other "
        "items\nonly when the command exits 0.\n\n" + EXIT_CODES
    )
    help = "start, run a command, send results and always the end event"
    run = _action(actions, common, "run", help, usage=usage, epilog=epilog)
    _start_options(run)
    run.add_argument(
        "--no-git-revision",
        action="store_true",
        help="do not send the detected git revision automatically",
    )
    run.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    run.set_defaults(handler=_wrap(_handle_run))


def _wrap(handler: Handler, *, git: bool = True) -> Callable[[argparse.Namespace], int]:
    """Resolve settings and context, turn known errors into a message and an exit code.

    ``git=False``: the handler asks git itself if it needs to (a subprocess per question
    is a good part of a reporter call's time)."""

    def handle(args: argparse.Namespace) -> int:
        try:
            settings = Settings.from_args(args, os.environ)
            reporter = Reporter(settings, stderr_log)
            ctx = detect_ci(os.environ)
            return handler(args, settings, with_local_git(ctx) if git else ctx, reporter)
        except ItemSyntaxError as error:
            stderr_log(f"error: {error}")
            return ExitCode.USAGE
        except ReporterError as error:
            stderr_log(f"error: {error.message}")
            return error.exit_code

    return handle


def _build_start(args: argparse.Namespace, settings: Settings, ctx: CIContext) -> Event:
    component = settings.require_component()
    version = args.build_version or os.environ.get("EXTCI_BUILD_VERSION") or ctx.tag
    if not version:
        ctx = with_local_git(ctx)
    if not version and ctx.git.get("commitSha"):
        version = ctx.git["commitSha"][:12]
    if not version:
        raise ReporterError(
            "no build version: pass --version (or set EXTCI_BUILD_VERSION)", ExitCode.USAGE
        )
    actor = Actor(args.actor, args.actor_fullname) if args.actor else ctx.actor
    return start_event(
        settings.pipeline_id(ctx),
        component,
        version,
        actor=actor,
        pipeline_name=args.pipeline_name,
        dashboard_url=args.dashboard_url or ctx.dashboard_url,
    )


def _complete(specs: Sequence[ItemSpec], ctx: CIContext) -> list[Item]:
    items = []
    for spec in specs:
        item = complete_item(spec, ctx.git if spec.type == "git-revision" else None)
        if item["type"] == "git-revision":  # a token in a clone URL must never be reported
            item["repositoryUrl"] = strip_credentials(item["repositoryUrl"])
        items.append(item)
    return items


def _handle_start(args: argparse.Namespace, s: Settings, ctx: CIContext, r: Reporter) -> int:
    r.send(_build_start(args, s, ctx))
    return ExitCode.OK


def _handle_result(args: argparse.Namespace, s: Settings, ctx: CIContext, r: Reporter) -> int:
    specs = parse_items(args.items)
    if not specs:
        raise ItemSyntaxError("give at least one result TYPE (see --help)")
    r.send(result_event(s.pipeline_id(ctx), _complete(specs, ctx)))
    return ExitCode.OK


def _handle_end(args: argparse.Namespace, s: Settings, ctx: CIContext, r: Reporter) -> int:
    r.send(end_event(s.pipeline_id(ctx), args.end_result))
    return ExitCode.OK


def split_run_arguments(rest: Sequence[str]) -> tuple[list[str], list[str]]:
    """``[items…] -- command…`` -> (item tokens, command)."""
    rest = list(rest)
    if rest and rest[0] in RESULT_TYPES:
        if "--" not in rest:
            raise ItemSyntaxError("put -- between the result items and the command")
        at = rest.index("--")
        items, command = rest[:at], rest[at + 1 :]
    else:
        items, command = [], rest[1:] if rest[:1] == ["--"] else rest
    if not command:
        raise ItemSyntaxError("no command to run: extci report run [options] -- COMMAND")
    return items, command


def _handle_run(args: argparse.Namespace, s: Settings, ctx: CIContext, r: Reporter) -> int:
    from extci.reporter import runner  # subprocess and signals: only run needs them

    tokens, command = split_run_arguments(args.rest)
    start = _build_start(args, s, ctx)
    items = _complete(parse_items(tokens), ctx)
    early = [i for i in items if i["type"] in ("git-revision", "git-tag")]
    late = [i for i in items if i["type"] not in ("git-revision", "git-tag")]
    if not args.no_git_revision and not any(i["type"] == "git-revision" for i in early):
        try:
            early.insert(0, complete_item(ItemSpec("git-revision", {}), ctx.git))
        except ItemSyntaxError as error:
            r.log(f"warning: no git revision sent ({error}); pass git-revision --… flags")
    return runner.run(r, start["pipelineId"], start, early, late, command)
