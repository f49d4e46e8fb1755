"""The bundled tools arrive through the entry point like any plugin's."""

from __future__ import annotations

import fullduplex
from fullduplex_tools import calculator, current_time


def test_registered_by_name() -> None:
    assert fullduplex.get_tool("calculator") is calculator
    assert fullduplex.get_tool("current_time") is current_time


def test_seed_style_import_resolves_through_the_registry() -> None:
    from fullduplex.tools import calculator as lazily

    assert lazily is calculator


def test_listed_under_the_tools_plugin() -> None:
    records = {record.name: record for record in fullduplex.list_plugins()}
    assert set(records["tools"].registered["tools"]) >= {"calculator", "current_time"}
    assert records["tools"].distribution == "fullduplex-tools"
