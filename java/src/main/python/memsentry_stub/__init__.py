"""memsentry agent stub: the fallback backend when the C library cannot load.

Speaks the agent protocol of docs/PROTOCOL.md (newline-delimited JSON on stdin
and stdout, one request at a time) and implements its Linux operations from
/proc with the Python standard library only: process and region lists, bounded
memory reads, raw dumps written to a file, and termination under the same
protection rules as the C agent. YARA scanning and syscall tracing need the C
agent and are answered "unsupported".

Everything read from /proc or from a target is hostile input: every read is
bounded and every field is checked, mirroring agent-c/src/linux. Strings from
the kernel are raw bytes; they travel as JSON text when they are valid UTF-8
and as {"b64": ...} otherwise, so no byte of evidence is replaced.

Diagnostics go to stderr as "LEVEL: message" lines; stdout carries protocol
lines only.

The modules follow the C agent's files (docs/ARCHITECTURE.md has the map); the jar ships them as
one zipapp, memsentry_stub.pyz, built by make_zipapp.py.
"""
