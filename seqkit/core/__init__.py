"""The plugin core: hook specs, the plugin manager, registries, the Cell and Task contracts, and compose().

Internal paths: plugins import the public names from ``seqkit`` (docs/plugins.md, "The public API")."""
