"""The real stub with one fault injected on the wire, for the orchestrator's failure tests.

Usage: faulty_stub.py STUB_PYZ FAULT OP MARKER_FILE

Runs STUB_PYZ (the jar's memsentry_stub.pyz) unchanged, except that the first request for
operation OP made while MARKER_FILE exists gets FAULT instead of its answer (the marker is removed,
so a fresh stub started afterwards behaves):

  malformed   a line that is not JSON
  oversized   a 5 MiB line
  wrong-id    a well-formed answer to another request id
  bad-item    an item whose fields have the wrong types, then a normal final line
  hang        creates MARKER_FILE + ".hung", then sleeps until killed
"""
import json
import os
import sys
import time

stub_path, fault, fault_op, marker = sys.argv[1:5]
sys.path.insert(0, stub_path)
from memsentry_stub import protocol  # noqa: E402  (imports every module before the archive is deleted)

real_handle = protocol.Server.handle


def handle(self, raw):
    try:
        req = json.loads(raw)
    except ValueError:
        req = {}
    if not isinstance(req, dict) or req.get("op") != fault_op or not os.path.exists(marker):
        return real_handle(self, raw)
    os.unlink(marker)
    if fault == "malformed":
        self.out.write(b"this is not json\n")
    elif fault == "oversized":
        self.out.write(b"[" + b"1," * (5 << 19) + b"1]\n")
    elif fault == "wrong-id":
        self.out.write(json.dumps({"v": 1, "id": req["id"] + 1000, "ok": True, "result": {}}).encode() + b"\n")
    elif fault == "bad-item":
        self.out.write(json.dumps({"v": 1, "id": req["id"], "item": {"pid": "one"}}).encode() + b"\n")
        self.out.write(json.dumps({"v": 1, "id": req["id"], "ok": True, "result": {"count": 1}}).encode() + b"\n")
    elif fault == "hang":
        open(marker + ".hung", "w").close()
        time.sleep(3600)
    self.out.flush()


protocol.Server.handle = handle
sys.exit(protocol.main())
