"""``python -m civicwatch``: the ``civicwatch`` command, for an interpreter whose scripts folder is
not on PATH."""

import sys

from civicwatch.cli import main

if __name__ == "__main__":  # imported, as the import-order test imports every module, it does nothing
    sys.exit(main())
