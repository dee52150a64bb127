"""`python -m assay.sandbox checker FD` or `... zygote FD CONFIG`: entry points of the sandbox's processes."""

from __future__ import annotations

import sys


def _main() -> None:
    role = sys.argv.pop(1) if len(sys.argv) > 1 else ""
    if role == "checker":
        from assay.sandbox.checker import main
    elif role == "zygote":
        from assay.sandbox.zygote import main
    else:
        raise SystemExit("usage: python -m assay.sandbox checker FD | zygote FD CONFIG")
    from assay.sandbox.isolation import set_name

    set_name(f"assay-{role}")  # so `ps` and `top` tell the sandbox's processes apart
    main()


if __name__ == "__main__":
    _main()
