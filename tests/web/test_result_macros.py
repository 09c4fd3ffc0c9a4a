"""The build page shows each result type with the macro the registry names for it."""

from __future__ import annotations

from datetime import UTC, datetime

from extci.builds import result_types
from extci.web import render
from extci.web.render import ENV, result_macro

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_every_macro_the_registry_names_is_in_the_results_template() -> None:
    module = ENV.get_template("_results.html").module
    for t in result_types.TYPES:
        assert callable(getattr(module, result_macro(t.name), None)), t.name


def test_a_type_without_a_macro_of_its_own_shows_its_fields() -> None:
    module = ENV.get_template("_results.html").module
    html = str(module.default({"name": "x", "url": "<u>", "_at": AT}))
    assert html == '<code class="wrap">name=x url=&lt;u&gt;</code>\n'
    assert result_macro("no-such-type") == "default"


def test_a_template_helper_declared_in_any_module_reaches_every_template() -> None:
    """``template_filter`` and ``template_global`` register into the one environment, even
    after it has been made (the pages' modules declare theirs when they are imported)."""

    @render.template_global
    def shout(text: str) -> str:
        return text.upper()

    @render.template_filter("twice")
    def repeat(text: str) -> str:
        return text * 2

    try:
        assert render.ENV.from_string("{{ shout('hi') }} {{ 'ab' | twice }}").render() == "HI abab"
    finally:
        del render.ENV.globals["shout"], render.ENV.filters["twice"]
