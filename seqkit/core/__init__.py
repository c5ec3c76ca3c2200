"""The plugin core: hook specs, the plugin manager, registries, the Cell and Task contracts, and compose()."""
