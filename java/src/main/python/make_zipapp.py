"""Builds the stub agent's zipapp: python3 make_zipapp.py OUT.pyz

The zipapp format (a "#!/usr/bin/env python3" line, then a zip archive holding the package and a
top-level __main__.py, here the package's own), written reproducibly: the same sources give the
same bytes (files in sorted order, fixed timestamps and modes, no compiled files), so the jar and
the Debian package do not change when nothing in the stub did. Every module is compiled first,
so a syntax error fails the build, not the fallback on a user's machine. Maven runs it
(generate-resources) into the jar's stub/memsentry_stub.pyz; the stub's tests run it into a
temporary directory."""

import os
import sys
import zipfile

ROOT = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "memsentry_stub"
SHEBANG = b"#!/usr/bin/env python3\n"
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def entries(root=ROOT):
    """(name in the archive, source bytes), sorted by name."""
    package = os.path.join(root, PACKAGE)
    out = []
    for name in sorted(os.listdir(package)):
        if name.endswith(".py"):
            with open(os.path.join(package, name), "rb") as f:
                out.append((PACKAGE + "/" + name, f.read()))
    out.append(("__main__.py", dict(out)[PACKAGE + "/__main__.py"]))
    return sorted(out)


def build(target, root=ROOT):
    """Writes the zipapp to target (replaced whole, never half-written)."""
    files = entries(root)
    for name, data in files:
        compile(data, name, "exec", dont_inherit=True)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    partial = target + ".partial"
    with open(partial, "wb") as f:
        f.write(SHEBANG)
        with zipfile.ZipFile(f, "w") as z:
            for name, data in files:
                info = zipfile.ZipInfo(name, EPOCH)
                info.create_system = 3  # Unix, so the mode below is read as one
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
    os.replace(partial, target)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: make_zipapp.py OUT.pyz\n")
        sys.exit(2)
    build(sys.argv[1])
