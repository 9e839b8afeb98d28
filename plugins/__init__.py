"""emofuse's built-in plugins. They register through the same hooks as third-party ones."""

#: Modules registered as plugins by default, by dotted name (imported lazily by the plugin manager).
BUILTIN_PLUGIN_MODULES: tuple[str, ...] = (
    "emofuse.plugins.haar",
    "emofuse.plugins.fer_cnn",
    "emofuse.plugins.mfcc",
    "emofuse.plugins.ravdess_cnn",
    "emofuse.plugins.embedders",
    "emofuse.plugins.vad",
    "emofuse.plugins.fusion_strategies",
    "emofuse.plugins.exporters",
    "emofuse.plugins.media_sources",
)
