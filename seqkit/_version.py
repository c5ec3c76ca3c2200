"""The one place seqkit's version lives (pyproject.toml reads it from here)."""

__version__ = "0.2.0"
#: version of the plugin API (hooks + Cell/Task contracts); plugins may require it, see docs/plugins.md
PLUGIN_API_VERSION = 1
