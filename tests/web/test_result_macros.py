"""The build page shows each result type with the macro the registry names for it."""

from __future__ import annotations

from datetime import UTC, datetime

from extci.builds import result_types
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
