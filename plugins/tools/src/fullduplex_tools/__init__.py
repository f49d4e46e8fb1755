"""Ready-made tools for fullduplex agents.

``from fullduplex_tools import calculator`` gives a tool to pass in
``BidiAgent(tools=[...])``; the plugin also registers each one by name, so
``fullduplex.get_tool("calculator")`` and ``fullduplex chat --tool calculator``
find them.
"""

from .calculator import calculator
from .current_time import current_time

__all__ = ["calculator", "current_time"]
__version__ = "0.1.0"
