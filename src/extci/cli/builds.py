"""``extci builds``: a component's build history and one build in detail."""

from __future__ import annotations

import argparse
from typing import Any

from extci.builds import state
from extci.cli.api import connect, path
from extci.cli.commands import add, emit, group, positive
from extci.cli.deployable import FORMATS as DEPLOYABLE_FORMATS
from extci.cli.errors import CliError, ExitCode
from extci.cli.output import echo, table, when
from extci.humanize import duration


def cmd_list(args: argparse.Namespace) -> int:
    api = connect()
    kind = api.call("GET", path("/components/{}", args.component))["kind"]
    query = {
        "status": args.status,
        "branch": args.branch,
        "version": args.version,
        "limit": args.limit,
    }
    page = api.call("GET", path("/components/{}/builds", args.component), query=query)

    def render(items: list[dict[str, Any]]) -> list[str]:
        rows = []
        for b in items:
            missing = (
                state.missing_results(kind, b["resultTypes"])
                if b["status"] == state.BuildStatus.INCOMPLETE
                else []
            )
            rows.append(
                [
                    b["pipelineId"],
                    b["buildVersion"],
                    b["status"],
                    b["branch"] or "",
                    (b["commitSha"] or "")[:10],
                    when(b["startedAt"]),
                    duration(b["durationSeconds"]),
                    ", ".join(missing),
                ]
            )
        headers = ["PIPELINE ID", "VERSION", "STATUS", "BRANCH", "COMMIT", "STARTED", "DURATION"]
        return table([*headers, "MISSING"], rows, empty=f"no builds for {args.component}")

    return emit(args, page["items"], render)


def render_detail(d: dict[str, Any]) -> list[str]:
    actor = "-"
    if d["actor"]:
        actor = d["actor"]["username"]
        if d["actor"]["fullname"]:
            actor += f" ({d['actor']['fullname']})"
    revision = d["gitRevision"] or {}
    built_from = f"{revision.get('branch') or '-'} {revision.get('commitSha') or ''}".rstrip()
    lines = [
        f"Build {d['pipelineId']} of {d['componentId']}",
        f"  version:    {d['buildVersion']}",
        f"  status:     {d['status']}",
        f"  pipeline:   {d['pipelineName'] or '-'}",
        f"  dashboard:  {d['dashboardUrl'] or '-'}",
        f"  actor:      {actor}",
        f"  built from: {built_from}",
        f"  started:    {when(d['startedAt'])}",
        f"  ended:      {when(d['endedAt'])}  ({duration(d['durationSeconds'])})",
        "Required results:",
        *(f"  [{'x' if r['satisfied'] else ' '}] {r['requirement']}" for r in d["requiredResults"]),
        "Results:",
        *(
            f"  {r['type']}: "
            + ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("type", "receivedAt"))
            for r in d["results"]
        ),
        "Events:",
        *(
            f"  {when(e['receivedAt'])}  {e['type']}"
            + (f"  {e['summary']}" if e["summary"] else "")
            for e in d["events"]
        ),
    ]
    if d["missingResults"] and d["status"] != state.BuildStatus.BUILDING:
        lines.insert(3, f"  missing:    {', '.join(d['missingResults'])}")
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    api = connect()
    route = path("/components/{}/builds/{}", args.component, args.pipeline_id)
    detail = api.call("GET", route)
    # Every result, page after page: the command shows the whole build.
    while cursor := detail["resultsNextCursor"]:
        more = api.call("GET", route, query={"resultsCursor": cursor, "resultsLimit": 1000})
        detail["results"] += more["results"]
        detail["resultsNextCursor"] = more["resultsNextCursor"]
    return emit(args, detail, render_detail)


def cmd_deployable(args: argparse.Namespace) -> int:
    """The newest deployable build, as JSON, shell variables or Helm values (a CD job's
    question): ``GET /components/{id}/deployable``, rendered by extci.cli.deployable."""
    from extci.cli.deployable import NoImage, render

    query = {"branch": args.branch, "version": args.version}
    document = connect().call("GET", path("/components/{}/deployable", args.component), query=query)
    try:
        text = render(document, args.format)
    except NoImage as error:
        raise CliError(str(error), ExitCode.NOINPUT) from None
    echo(*text.splitlines())
    return 0


def register(sub: Any) -> None:
    builds = group(sub, "builds", "build history")
    p = add(builds, "list", cmd_list, help="a component's build history, newest first")
    p.add_argument("component")
    p.add_argument("--status", help="BUILDING, SUCCESSFUL, INCOMPLETE, FAILED, CANCELLED, LOST")
    p.add_argument("--branch")
    p.add_argument("--version")
    p.add_argument("--limit", type=positive, default=50, help="at most this many (1-200)")
    p = add(builds, "show", cmd_show, help="one build in detail")
    p.add_argument("component")
    p.add_argument("pipeline_id")
    p = add(builds, "deployable", cmd_deployable, output=False, help="the newest deployable build")
    p.add_argument("component")
    p.add_argument("--branch", help="only builds of this branch")
    p.add_argument("--version", help="exact version, or a prefix ending in '.' (1.4.)")
    p.add_argument("--format", choices=DEPLOYABLE_FORMATS, default="json")
