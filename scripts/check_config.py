"""Validate the control-plane config (default: the bundled one); exit 1 with the problems on stderr."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "common"))

from controlplane.config import load_config
from controlplane.errors import ConfigError


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else None
    try:
        config = load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"config ok: {len(config.models)} model(s): {', '.join(model.name for model in config.models)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
