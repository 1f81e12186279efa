"""Policy packs shipped with Charter: ``default.yaml`` and the pack JSON Schema."""
