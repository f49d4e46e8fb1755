"""Install hints: what to tell a user whose name no loaded plugin provides.

The hints come from entry-point metadata, never from a list of names: the
loader records every plugin it found but did not load (filtered out by
``FULLDUPLEX_LOAD_PLUGINS`` / ``FULLDUPLEX_DISABLE_PLUGINS``, or broken) with
the distribution that declared its entry point (``importlib.metadata``). A
missing name is then explained by those plugins: which distribution is
installed but off, and why. Plugins whose entry-point name occurs in the
missing name (``openai`` in ``openai/gpt-realtime``, ``audio`` in
``BidiAudioIO``) are named first. A distribution that is not installed has no
metadata to read, so core says nothing about it rather than guess a package
name for ``pip`` to fetch.
"""

from __future__ import annotations

from .plugins import Plugins, SkippedPlugin, plugins

#: at most this many skipped plugins are named in one hint
_SHOWN = 5


def _describe(skipped: SkippedPlugin) -> str:
    where = f" from {skipped.distribution}" if skipped.distribution else ""
    return f"plugin {skipped.name!r}{where} ({skipped.reason})"


def _likely(name: str, skipped: SkippedPlugin) -> bool:
    needle = name.lower()
    return skipped.name.lower() in needle or (
        skipped.distribution is not None
        and skipped.distribution.lower().removeprefix("fullduplex-") in needle
    )


def install_hint(name: str, loaded: Plugins | None = None) -> str:
    """Which installed plugins did not load and may provide ``name``, and why ("" if none)."""
    found = (loaded if loaded is not None else plugins()).skipped
    if not found:
        return ""
    likely = [s for s in found if _likely(name, s)]
    if len(likely) == 1:
        only = likely[0]
        return (
            f"it is probably provided by {only.distribution or 'a local plugin'}, which is "
            f"installed but its plugin {only.name!r} was not loaded ({only.reason})"
        )
    ordered = likely + [s for s in found if s not in likely]
    shown = "; ".join(_describe(s) for s in ordered[:_SHOWN])
    more = f"; and {len(ordered) - _SHOWN} more" if len(ordered) > _SHOWN else ""
    return f"installed plugins that did not load and may provide it: {shown}{more}"


__all__ = ["install_hint"]
