"""Runs the stub: the top-level __main__.py of memsentry_stub.pyz (python3 memsentry_stub.pyz), and
python3 -m memsentry_stub from the source tree.

The orchestrator deletes the archive once the stub has answered hello, so every module of the
package must be imported before then: protocol imports them all at its top, none lazily."""

import sys

from memsentry_stub.protocol import main

if __name__ == "__main__":
    sys.exit(main())
