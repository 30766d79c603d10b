"""The Python stub agent (java/src/main/python/memsentry_stub) on its own: its /proc parsers
against the same lines as the C parser's tests, its protection rules, and the protocol as the
zipapp speaks it in a child process. Run by ctest with MEMSENTRY_STUB_SOURCE (java/src/main/python)
and MEMSENTRY_VICTIM_DIR."""

import base64
import errno
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

from victims import Victim

# The package straight from the source tree, and the zipapp the jar ships built from it, which the
# protocol tests run as the orchestrator does.
STUB_SOURCE = os.environ["MEMSENTRY_STUB_SOURCE"]
sys.path.insert(0, STUB_SOURCE)
import make_zipapp  # noqa: E402
from memsentry_stub import (  # noqa: E402
    common, container, dump, evidence, inspect_process, inspect_region, maps_parse, process_enum, procfs, protect,
    regions, terminate, threads)

_BUILD_DIR = tempfile.mkdtemp(prefix="memsentry-stub-pyz-")
STUB_PATH = os.path.join(_BUILD_DIR, "memsentry_stub.pyz")
make_zipapp.build(STUB_PATH)


def tearDownModule():
    shutil.rmtree(_BUILD_DIR, ignore_errors=True)


class Session(object):
    """The stub as a child process; send() writes raw request lines, answer() reads one line."""

    def __init__(self, prefix=()):
        self.proc = subprocess.Popen(list(prefix) + [sys.executable, "-I", "-B", STUB_PATH],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stderr = []
        self._err = threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr.read().splitlines()))
        self._err.start()
        self.next_id = 1

    def send(self, raw):
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def answer(self):
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError("the stub closed its output")
        return json.loads(line)

    def request(self, op, **args):
        """Sends a request; returns (items, final answer)."""
        req_id = self.next_id
        self.next_id += 1
        msg = {"v": 1, "id": req_id, "op": op}
        msg.update(args)
        self.send(json.dumps(msg).encode())
        items = []
        while True:
            a = self.answer()
            assert a["v"] == 1 and a["id"] == req_id, a
            if "item" in a:
                items.append(a["item"])
            elif "ok" in a:
                return items, a

    def close(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=10)
        self._err.join()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


class MapsParserTest(unittest.TestCase):
    """The cases of tests-native/test_maps_parse.cpp, line for line."""

    def test_file_backed_line(self):
        r = maps_parse.parse_maps_line(
            b"55d4c5a00000-55d4c5a02000 r-xp 00001000 08:01 1234567                    /usr/bin/cat")
        self.assertEqual((0x55d4c5a00000, 0x55d4c5a02000, 0x1000, 8, 1, 1234567), (
            r["start"], r["end"], r["offset"], r["dev_major"], r["dev_minor"], r["inode"]))
        self.assertEqual(maps_parse.PERM_READ | maps_parse.PERM_EXEC | maps_parse.PERM_PRIVATE, r["perms"])
        self.assertEqual(b"/usr/bin/cat", r["path"])
        self.assertEqual(maps_parse.FILE, r["kind"])

    def test_anonymous_with_and_without_trailing_space(self):
        for line in (b"7f0000000000-7f0000021000 rw-p 00000000 00:00 0",
                     b"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ",
                     b"7f0000000000-7f0000021000 rw-p 00000000 00:00 0                          "):
            r = maps_parse.parse_maps_line(line)
            self.assertEqual(b"", r["path"])
            self.assertEqual(maps_parse.ANONYMOUS, r["kind"])
            self.assertEqual("rw-p", regions.perms_string(r["perms"]))

    def test_path_with_spaces_and_deleted_suffix(self):
        r = maps_parse.parse_maps_line(
            b"7f2000000000-7f2000001000 r-xp 00001000 fd:00 99 /tmp/a path  with spaces (deleted)")
        self.assertEqual(b"/tmp/a path  with spaces (deleted)", r["path"])
        self.assertEqual(maps_parse.DELETED, r["kind"])
        self.assertEqual(0xfd, r["dev_major"])

    def test_memfd_is_memfd_even_though_deleted(self):
        r = maps_parse.parse_maps_line(b"7f1000000000-7f1000001000 r-xs 00000000 00:01 42   /memfd:payload (deleted)")
        self.assertEqual(maps_parse.MEMFD, r["kind"])
        self.assertEqual(0, r["perms"] & maps_parse.PERM_PRIVATE)

    def test_special_kinds(self):
        m = maps_parse
        cases = {
            b"[heap]": m.HEAP, b"[stack]": m.STACK, b"[stack:1234]": m.STACK, b"[vdso]": m.VDSO,
            b"[vvar]": m.VVAR, b"[vvar_vclock]": m.VVAR, b"[vsyscall]": m.VSYSCALL,
            b"[anon:jit code]": m.ANONYMOUS, b"[anon_shmem:x]": m.ANONYMOUS, b"[heap2]": m.ANONYMOUS,
            b"/dev/zero (deleted)": m.ANONYMOUS, b"/SYSV00000000 (deleted)": m.SHM,
        }
        for path, kind in cases.items():
            r = maps_parse.parse_maps_line(b"7f3000000000-7f3000002000 rw-p 00000000 00:05 7 " + path)
            self.assertEqual(kind, r["kind"], path)
            self.assertEqual(path, r["path"])
        self.assertEqual(maps_parse.DELETED, maps_parse.region_kind_of(b"/SYSV00000000 (deleted)", 0),
                         "inode 0: not System V")
        self.assertEqual(maps_parse.ANONYMOUS, maps_parse.region_kind_of(b"anon_inode:[io_uring]", 5))

    def test_vsyscall_above_two_to_the_63(self):
        r = maps_parse.parse_maps_line(
            b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]")
        self.assertEqual(0xffffffffff600000, r["start"])
        self.assertEqual(maps_parse.PERM_EXEC | maps_parse.PERM_PRIVATE, r["perms"])

    def test_rejects_malformed_and_truncated_lines(self):
        bad = [
            b"", b"7f00", b"7f0000000000-", b"7f0000000000-7f0000021000", b"7f0000000000-7f0000021000 rw-",
            b"7f0000000000-7f0000021000 rw-p", b"7f0000000000-7f0000021000 rw-p 0000",
            b"7f0000000000-7f0000021000 rw-p 00000000 00:", b"7f0000000000-7f0000021000 rw-p 00000000 00:00",
            b"7f0000000000-7f0000021000 rwzp 00000000 00:00 0", b"7f0000000000-7f0000021000 rw-q 00000000 00:00 0",
            b"7f0000021000-7f0000000000 rw-p 00000000 00:00 0", b"7f0000000000-7f0000000000 rw-p 00000000 00:00 0",
            b"17f0000000000000-7f0000021000 rw-p 00000000 00:00 0",
            b"7f0000000000-7f0000021000 rw-p 00000000 00:00 99999999999999999999999",
            b"7f0000000000-7f0000021000 rw-p 00000000 100000000:00 0",
            b"7f0000000000-7f0000021000 rw-p 00000000 00:00 0x12",
            b"g0000000000-7f0000021000 rw-p 00000000 00:00 0",
            b"7f0000000000-7f0000021000 r--p 00000000 08:01 5 /lib/x\0y",
        ]
        for line in bad:
            with self.assertRaises(common.Failure, msg=repr(line)) as e:
                maps_parse.parse_maps_line(line)
            self.assertEqual(common.MALFORMED, e.exception.status)


class LineReaderTest(unittest.TestCase):
    def lines(self, data):
        r, w = os.pipe()
        writer = threading.Thread(target=lambda: (_write_all(w, data), os.close(w)))
        writer.start()
        try:
            return list(procfs.read_lines_bounded(r))
        finally:
            writer.join()
            os.close(r)

    def test_splits_lines_and_keeps_the_unterminated_last(self):
        self.assertEqual([b"a", b"bb", b"", b"ccc"], self.lines(b"a\nbb\n\nccc"))

    def test_skips_an_overlong_line_and_goes_on(self):
        longline = b"x" * (procfs.MAPS_LINE_MAX + 100)
        self.assertEqual([b"first", None, b"last"], self.lines(b"first\n" + longline + b"\nlast\n"))

    def test_long_but_legal_line_is_whole(self):
        line = b"7f0000000000-7f0000021000 r--p 00000000 08:01 5 /" + b"p" * 8000
        [got] = self.lines(line + b"\n")
        self.assertEqual(8001, len(maps_parse.parse_maps_line(got)["path"]))


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class StatParsingTest(unittest.TestCase):
    def test_name_ends_at_the_last_parenthesis(self):
        comm, fields = procfs.parse_stat_fields(b"42 (a) (b) c) S 1 42 42 0 -1 4194560 0 0\n", 7)
        self.assertEqual(b"a) (b) c", comm)
        self.assertEqual(b"S", fields[0])
        self.assertEqual(4194560, procfs.stat_int(fields[6], 9))

    def test_hostile_stat_is_malformed_not_a_crash(self):
        for stat in (b"", b"42 no name", b"42 (x)S 1", b"42 (x) S", b"42 (x) S one 2 3 4 5 6",
                     b"42 (x) S 1 2 3 4 5 99999999999999999999999"):
            with self.assertRaises(common.Failure) as e:
                _, fields = procfs.parse_stat_fields(stat, 7)
                for i in range(1, 7):
                    procfs.stat_int(fields[i], i + 3)
            self.assertEqual(common.MALFORMED, e.exception.status, stat)

    def test_status_values_like_strtoll(self):
        status = b"Name:\tx\nUmask:\t0022\nTgid:\t77\nUid:\t1000\t1000\t1000\t1000\n"
        self.assertEqual(77, procfs.status_value(status, b"Tgid:"))
        self.assertEqual(1000, procfs.status_value(status, b"Uid:"))
        self.assertIsNone(procfs.status_value(status, b"Gid:"))
        self.assertEqual(0, procfs.status_value(b"Name:\tx\nUid:\tzz\n", b"Uid:"))

    def test_bytes_travel_as_text_or_base64(self):
        self.assertEqual("plain é", common.wire_bytes("plain é".encode()))
        self.assertEqual({"b64": base64.b64encode(b"bad\xff").decode()}, common.wire_bytes(b"bad\xff"))
        self.assertEqual({"b64": base64.b64encode(b"\xed\xa0\x80").decode()}, common.wire_bytes(b"\xed\xa0\x80"),
                         "a UTF-8 encoded surrogate is not text")


class ProtectionRulesTest(unittest.TestCase):
    """The C agent's order and matching rules (agent-c/src/common/protect.c, linux/terminate.c)."""

    def target(self, pid, comm=b"x", exe=b"/usr/bin/x", kflags=0, vsize=1 << 20):
        t = terminate.Target(pid)
        t.comm, t.exe, t.kflags, t.vsize = comm, exe, kflags, vsize
        return t

    def decide(self, t, protected=(), self_pids=(), chain=None, parent=0):
        """chain: pid -> (ppid, comm) of the parent chain, which starts at parent."""
        chain = chain or {}

        def read_stat(a):
            if a.pid not in chain:
                raise common.Failure(common.NO_SUCH_PROCESS, "gone")
            a.ppid, a.comm = chain[a.pid]
        return terminate.decide(t, list(protected), set(self_pids), parent, read_stat)[0]

    def test_order_of_the_rules(self):
        self.assertEqual("init", self.decide(self.target(1, kflags=process_enum.PF_KTHREAD)))
        self.assertEqual("kernel-thread", self.decide(self.target(2, kflags=process_enum.PF_KTHREAD)))
        self.assertEqual("kernel-thread", self.decide(self.target(3, exe=b"", vsize=0)), "no address space")
        self.assertEqual("none", self.decide(self.target(3, exe=b"", vsize=4096)), "exe unreadable alone is not enough")
        self.assertEqual("self", self.decide(self.target(50), self_pids=[50], protected=[b"x"]))
        chain = {60: (61, b"bash"), 61: (1, b"sshd"), 1: (0, b"init")}
        self.assertEqual("ancestor", self.decide(self.target(61), chain=chain, parent=60))
        self.assertEqual("ancestor", self.decide(self.target(60), chain=chain, parent=60))
        self.assertEqual("none", self.decide(self.target(62), chain=chain, parent=60))
        self.assertEqual("name", self.decide(self.target(62, exe=b"/usr/sbin/sshd"), protected=[b"sshd"], chain=chain,
                                             parent=60))

    def test_an_unreadable_parent_chain_counts_as_a_possible_ancestor(self):
        hidden = {60: (61, b"bash")}  # 61 cannot be read (hidepid, say)
        t = self.target(62, exe=b"/usr/bin/victim")
        reason, detail = terminate.decide(t, [], set(), 60, self._reader(hidden))
        self.assertEqual("ancestor", reason)
        self.assertIn("may be an ancestor", detail)
        self.assertIn("unreadable at pid 61", detail)
        top = {60: (1, b"bash"), 1: (0, b"init")}
        self.assertEqual("none", terminate.decide(t, [], set(), 60, self._reader(top))[0], "pid 1 ends the walk")

    def test_messages_name_the_executable_not_the_15_byte_comm(self):
        t = self.target(70, comm=b"systemd-network", exe=b"/usr/lib/systemd/systemd-networkd")
        self.assertIn("(systemd-networkd)", terminate.decide(t, [], {70}, 0)[1])
        t = self.target(71, comm=b"kworker/0:1", exe=b"", vsize=0)
        self.assertIn("(kworker/0:1)", terminate.decide(t, [], set(), 0)[1])

    @staticmethod
    def _reader(chain):
        def read_stat(a):
            if a.pid not in chain:
                raise common.Failure(common.ACCESS_DENIED, "hidden")
            a.ppid, a.comm = chain[a.pid]
        return read_stat

    def test_entries_match_the_executable_not_the_name_a_process_gives_itself(self):
        m = protect.entry_matches
        self.assertTrue(m(b"sshd", b"/usr/sbin/sshd", b"anything"))
        self.assertFalse(m(b"sshd", b"/tmp/malware", b"sshd"), "comm is chosen by the process")
        self.assertTrue(m(b"sshd", b"", b"sshd"), "comm only when the executable is unreadable")
        self.assertTrue(m(b"/usr/sbin/sshd", b"/usr/sbin/sshd", b"x"))
        self.assertFalse(m(b"/usr/sbin/sshd", b"/opt/usr/sbin/sshd", b"x"))
        self.assertFalse(m(b"/usr/sbin/sshd", b"", b"sshd"), "a path entry needs the executable")
        self.assertTrue(m(b"systemd-networkd", b"", b"systemd-network"), "comm keeps 15 bytes")
        self.assertFalse(m(b"systemd-networkd", b"", b"systemd-netwo"))

    def test_the_default_list_is_the_c_agents(self):
        self.assertEqual(16, len(protect.DEFAULT_PROTECTED))
        self.assertIn("sshd", protect.DEFAULT_PROTECTED)
        self.assertIn("systemd-journald", protect.DEFAULT_PROTECTED)


class ContainerParsingTest(unittest.TestCase):
    """The cgroup shapes of tests-native/test_container.cpp, through the stub's parser."""
    ID = "8e2c4a6f0b1d3e5f7a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f"
    UID = "2f1b4c7e-9a3d-4e51-8c2b-6d0e7f9a1b23"
    SLICE_UID = UID.replace("-", "_")

    def parse(self, text):
        return container.parse_cgroup_container(text.encode())

    def test_runtimes_and_drivers(self):
        i, u, s = self.ID, self.UID, self.SLICE_UID
        cases = [
            ("12:perf_event:/docker/%s\n1:name=systemd:/docker/%s\n0::/docker/%s\n" % (i, i, i), "docker", None),
            ("0::/system.slice/docker-%s.scope\n" % i, "docker", None),
            ("0::/docker/%s/docker/%s\n" % ("a" * 64, i), "docker", None),
            ("11:memory:/kubepods/burstable/pod%s/%s\n0::/\n" % (u, i), "unknown", u),
            ("0::/kubepods/pod%s/%s\n" % (u, i), "unknown", u),
            ("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice/cri-containerd-%s.scope\n"
             % (s, i), "containerd", u),
            ("0::/kubepods.slice/kubepods-pod%s.slice/cri-containerd-%s.scope\n" % (s, i), "containerd", u),
            ("5:memory:/system.slice/containerd.service/kubepods-burstable-pod%s.slice:cri-containerd:%s\n" % (s, i),
             "containerd", u),
            ("0::/default/%s\n" % i, "containerd", None),
            ("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/crio-%s.scope\n" % (s, i),
             "cri-o", u),
            ("7:devices:/kubepods/besteffort/pod%s/crio-%s\n" % (u, i), "cri-o", u),
            ("9:name=systemd:/libpod_parent/libpod-%s\n0::/libpod_parent/libpod-%s\n" % (i, i), "podman", None),
            ("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-%s.scope/container\n" % i, "podman", None),
            ("0::/\n9:name=systemd:/\n4:memory:/docker/%s\n" % i, "docker", None),
            ("0::/%s/docker/%s\n" % ("a" * 300, i), "docker", None),
        ]
        for text, runtime, pod in cases:
            self.assertEqual(self.parse(text), (i, runtime, pod), text)

    def test_host_processes_conmon_and_near_misses_have_no_container(self):
        i, s = self.ID, self.SLICE_UID
        for text in ["0::/init.scope\n", "0::/\n", "", "0::/system.slice/containerd.service\n",
                     "0::/machine.slice/libpod-conmon-%s.scope\n" % i, "4:memory:/libpod_parent/conmon\n",
                     "0::/docker/%s\n" % i[1:], "0::/docker/%s0\n" % i, "0::/docker/E%s\n" % i[1:],
                     "0::/%s\n" % i, "0::/system.slice/docker-%s.scopeX\n" % i, "0:/docker/%s\n" % i,
                     "0::/system.slice/x.slice:evil:%s\n" % i, "0::/docker/%s%s\n" % (i, "a" * 300)]:
            self.assertIsNone(self.parse(text)[0], text)
        conmon = self.parse("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
                            "crio-conmon-%s.scope\n" % (s, i))
        self.assertEqual(conmon, (None, None, self.UID))

    def test_nspid(self):
        self.assertEqual(container.parse_nspid(b"Name:\tsleep\nNSpid:\t11800\t1\nNSsid:\t1\n"), 1)
        self.assertEqual(container.parse_nspid(b"NSpid:\t7\t3\t2"), 2)
        for bad in [b"NSpid:\t\n", b"NSpid:\t12x\n", b"NSpid:\t99999999999\n", b"Pid:\t1\n"]:
            self.assertIsNone(container.parse_nspid(bad), bad)

    def test_this_process(self):
        facts = container.process_container(os.getpid())
        self.assertTrue(facts["flags"] & container.CONTAINER_NS_KNOWN)
        self.assertFalse(facts["flags"] & container.CONTAINER_OTHER_NS)
        self.assertEqual(facts["pid_ns"], os.stat("/proc/self/ns/pid").st_ino)


class ProtocolTest(unittest.TestCase):
    def setUp(self):
        self.s = Session()
        self.addCleanup(self.s.close)

    def error(self, answer):
        self.assertFalse(answer["ok"], answer)
        return answer["error"]["status"]

    def test_hello(self):
        _, a = self.s.request("hello", orchestrator_pid=os.getpid())
        r = a["result"]
        self.assertEqual(("memsentry-stub", 1), (r["agent"], r["protocol"]))
        self.assertEqual(["process_list", "region_list", "memory_read", "dump", "terminate"], r["capabilities"])
        self.assertEqual({"yara", "trace"}, set(r["unsupported"]))
        self.assertEqual({"max_line": 4 << 20, "max_read": 1 << 20}, r["limits"])

    def test_bad_requests_get_one_error_each_and_the_stub_goes_on(self):
        for raw, status in ((b"not json", "malformed"), (b"[1,2]", "malformed"), (b'{"v":1,"op":"hello"}', "malformed"),
                            (b'{"v":1,"id":true,"op":"hello"}', "malformed"), (b'{"v":1,"id":-1,"op":"hello"}', "malformed"),
                            (b'{"v":1,"id":NaN,"op":"hello"}', "malformed"), (b"\xff\xfe{}", "malformed"),
                            (b"[" * 100000 + b"]" * 100000, "malformed"),
                            (b'{"v":2,"id":5,"op":"hello"}', "unsupported"), (b'{"v":1,"id":6,"op":"format_disk"}', "unsupported"),
                            (b'{"v":1,"id":7,"op":"yara_scan"}', "unsupported"), (b'{"v":1,"id":8,"op":"trace"}', "unsupported"),
                            (b'{"v":1,"id":9,"op":"read","pid":1,"address":"0x1000","length":1048577}', "invalid_argument"),
                            (b'{"v":1,"id":10,"op":"read","pid":1,"address":4096,"length":8}', "invalid_argument"),
                            (b'{"v":1,"id":11,"op":"read","pid":1,"address":"0xffffffffffffffff","length":2}', "invalid_argument"),
                            (b'{"v":1,"id":12,"op":"get_process","pid":0}', "invalid_argument"),
                            (b'{"v":1,"id":13,"op":"get_process","pid":"1"}', "invalid_argument"),
                            (b'{"v":1,"id":14,"op":"dump","pid":1,"path":"relative.raw"}', "invalid_argument"),
                            (b'{"v":1,"id":15,"op":"dump","pid":1,"path":"/tmp/x.core","format":"core"}', "unsupported"),
                            (b'{"v":1,"id":16,"op":"dump","pid":1,"path":"/tmp/x.raw","freeze":true}', "unsupported"),
                            (b'{"v":1,"id":17,"op":"terminate","pid":2,"protected":["a\\u0000b"]}', "invalid_argument"),
                            (b'{"v":1,"id":18,"op":"terminate","pid":2,"grace_ms":3600001}', "invalid_argument")):
            self.s.send(raw)
            a = self.s.answer()
            self.assertEqual(status, self.error(a), raw[:80])
        _, a = self.s.request("hello")
        self.assertTrue(a["ok"])

    def test_oversized_request_line_is_rejected_and_skipped(self):
        self.s.send(b'{"v":1,"id":1,"op":"hello","pad":"' + b"x" * (5 << 20) + b'"}')
        a = self.s.answer()
        self.assertEqual("malformed", self.error(a))
        self.assertIsNone(a["id"])
        self.assertIn("limit", a["error"]["message"])
        _, a = self.s.request("hello")
        self.assertTrue(a["ok"], "the next line is read as a request of its own")

    def test_a_request_at_the_limit_is_accepted(self):
        head = b'{"v":1,"id":1,"op":"hello","pad":"'
        tail = b'"}'
        self.s.send(head + b"x" * ((4 << 20) - len(head) - len(tail)) + tail)
        self.assertTrue(self.s.answer()["ok"])

    def test_regions_and_reads_of_a_victim(self):
        with Victim("victim_marker", "PY-STUB-MARKER") as v:
            items, a = self.s.request("list_regions", pid=v.pid)
            self.assertTrue(a["ok"])
            self.assertEqual(len(items), a["result"]["count"])
            addr = v.hex("addr")
            holder = [r for r in items if int(r["start"], 16) <= addr < int(r["end"], 16)]
            self.assertEqual(["anonymous"], [r["kind"] for r in holder])
            _, a = self.s.request("read", pid=v.pid, address=hex(addr), length=14)
            self.assertEqual(b"PY-STUB-MARKER", base64.b64decode(a["result"]["data"]))
            end = v.hex("map") + int(v.facts["map_len"])
            _, a = self.s.request("read", pid=v.pid, address=hex(end - 100), length=200)
            self.assertEqual(("partial_read", 100), (a["result"]["status"], a["result"]["bytes_read"]))
            _, a = self.s.request("get_process", pid=v.pid)
            self.assertEqual("victim_marker", a["result"]["name"])
            self.assertEqual(os.getpid(), a["result"]["ppid"])


class HeaderClassificationTest(unittest.TestCase):
    """classify_header against the cases of the C classifier's tests (test_inspect.cpp)."""

    def test_mz_pe_and_a_signature_out_of_reach(self):
        b = bytearray(256)
        b[0:2] = b"MZ"
        self.assertEqual(("mz", 0, 0), inspect_region.classify_header(bytes(b)))
        b[0x3C] = 0x80
        b[0x80:0x84] = b"PE\0\0"
        b[0x84:0x86] = b"\x64\x86"
        self.assertEqual(("pe", 0, 0x8664), inspect_region.classify_header(bytes(b)))
        b[0x3C:0x3E] = b"\xff\xff"
        self.assertEqual("mz", inspect_region.classify_header(bytes(b))[0])
        self.assertEqual("none", inspect_region.classify_header(bytes(b[:1]))[0])

    def test_the_elf_magic_alone_is_not_an_image(self):
        b = bytearray(64)
        b[0:4] = b"\x7fELF"
        self.assertEqual("none", inspect_region.classify_header(bytes(b))[0], "no class, byte order or version")
        b[4], b[5], b[6], b[16], b[20] = 2, 1, 1, 1, 1
        self.assertEqual("none", inspect_region.classify_header(bytes(b))[0], "ET_REL is data")
        b[16], b[18] = 3, 62
        self.assertEqual(("elf", 3, 62), inspect_region.classify_header(bytes(b)))
        self.assertEqual("none", inspect_region.classify_header(bytes(b[:20]))[0], "truncated")

    def test_a_real_executable(self):
        with open(os.path.join(os.environ["MEMSENTRY_VICTIM_DIR"], "victim_plain"), "rb") as f:
            kind, etype, _ = inspect_region.classify_header(f.read(4096))
        self.assertEqual("elf", kind)
        self.assertIn(etype, (2, 3))


class SyscallLineTest(unittest.TestCase):
    """parse_syscall_line against the lines ms__parse_syscall_line accepts and refuses."""

    def test_running_blocked_and_in_a_syscall(self):
        self.assertEqual((threads.THREAD_RUNNING, -1, 0, 0), threads.parse_syscall_line(b"running\n"))
        self.assertEqual((threads.THREAD_REGS_KNOWN, -1, 0x7ffd1000, 0x401000),
                         threads.parse_syscall_line(b"-1 0x7ffd1000 0x401000\n"))
        line = b"0 0x3 0x7ffd2000 0x400 0x0 0x0 0x0 0x7ffd1ff0 0x7f0011223344\n"
        self.assertEqual((threads.THREAD_REGS_KNOWN | threads.THREAD_IN_SYSCALL, 0, 0x7ffd1ff0, 0x7f0011223344),
                         threads.parse_syscall_line(line))

    def test_lines_the_kernel_never_writes(self):
        for bad in (b"", b"runnin", b"-1 0x1", b"-1 0x1 0x2 0x3", b"7 0x1 0x2", b"x 0x1 0x2",
                    b"0 0x1 0x2 0x3 0x4 0x5 0x6 0x7 zz", b"-1 0x12345678901234567 0x1"):
            self.assertIsNone(threads.parse_syscall_line(bad), bad)


class InspectProtocolTest(unittest.TestCase):
    def setUp(self):
        self.s = Session()

    def tearDown(self):
        self.assertEqual(0, self.s.close())

    def test_probe_finds_the_image_and_leaves_untouched_pages_alone(self):
        with Victim("victim_elf_anon") as v:
            _, a = self.s.request("probe_region", pid=v.pid, start=hex(v.hex("addr")))
            self.assertTrue(a["ok"], a)
            self.assertEqual("elf", a["result"]["header"])
            self.assertEqual(b"\x7fELF", base64.b64decode(a["result"]["head"])[:4])
            self.assertLessEqual(len(base64.b64decode(a["result"]["head"])), 16)
            _, a = self.s.request("probe_region", pid=v.pid, start=hex(v.hex("addr") + 1))
            self.assertEqual("io_error", a["error"]["status"], "no region starts there")
        with Victim("victim_pages", "4", "0") as v:
            _, a = self.s.request("probe_region", pid=v.pid, start=hex(v.hex("map")))
            self.assertEqual((inspect_region.PROBE_NOT_PRESENT, "none"), (a["result"]["flags"], a["result"]["header"]))
            self.assertFalse(page_present(v.pid, v.hex("map")), "the probe faulted nothing in")

    def test_process_facts_name_the_preload_and_the_executable(self):
        with Victim("victim_preload") as v:
            _, a = self.s.request("process_facts", pid=v.pid)
            self.assertTrue(a["ok"], a)
            r = a["result"]
            self.assertTrue(r["ld_preload"].endswith("/libvictim_preload.so"), r)
            self.assertTrue(r["flags"] & inspect_process.FACT_LD_PRELOAD
                            and r["flags"] & inspect_process.FACT_EXE_KNOWN, r)
            self.assertFalse(r["flags"] & inspect_process.FACT_LD_AUDIT)
            self.assertEqual(0, r["tracer_pid"])
            self.assertEqual(os.stat("/proc/%d/exe" % v.pid).st_ino, r["exe_inode"])
        _, a = self.s.request("process_facts", pid=2 ** 31 - 1)
        self.assertEqual("no_such_process", a["error"]["status"])

    def test_threads_of_a_victim_with_their_registers(self):
        with Victim("victim_threads", "2") as v:
            items, a = self.s.request("list_threads", pid=v.pid)
            self.assertTrue(a["ok"], a)
            self.assertEqual(3, a["result"]["count"])
            self.assertEqual(sorted(int(t) for t in os.listdir("/proc/%d/task" % v.pid)), sorted(t["tid"] for t in items))
            for t in items:
                self.assertTrue(t["flags"] & threads.THREAD_REGS_KNOWN, t)
                self.assertNotEqual("0x0", t["pc"], t)
        _, a = self.s.request("list_threads", pid=2 ** 31 - 1)
        self.assertEqual("no_such_process", a["error"]["status"])


def page_present(pid, address):
    """Bit 63 of the page's /proc/PID/pagemap entry: set once anything, a plain read included, maps it."""
    fd = os.open("/proc/%d/pagemap" % pid, os.O_RDONLY)
    try:
        entry = int.from_bytes(os.pread(fd, 8, address // os.sysconf("SC_PAGE_SIZE") * 8), "little")
    finally:
        os.close(fd)
    return bool(entry >> 63)


class OpenWatch(object):
    """IN_OPEN events of one file (inotify through ctypes, as the stub uses no more than the
    standard library either)."""

    def __init__(self, path):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, os.fsencode(path), 0x20) < 0:  # IN_OPEN
            raise OSError(ctypes.get_errno(), "inotify")

    def opens(self):
        n = 0
        while True:
            try:
                buf = os.read(self.fd, 4096)
            except BlockingIOError:
                return n
            while buf:
                _, mask, _, length = struct.unpack_from("iIII", buf)
                n += bool(mask & 0x20)
                buf = buf[16 + length:]

    def close(self):
        os.close(self.fd)


@unittest.skipUnless(os.geteuid() == 0, "the victim makes a mount namespace of its own")
class PlantedSymlinkTest(unittest.TestCase):
    """A target whose maps name symlinks it planted (a tmpfs covered by another with a symlink
    at the mapped path, a deleted file with a symlink named "d (deleted)"): probing its untouched
    file pages, with map_files and without (CAP_SYS_ADMIN dropped), never opens the file the
    symlinks point to."""

    def test_no_open_of_the_symlink_target(self):
        d = tempfile.mkdtemp(prefix="memsentry-stub-hostile-")
        self.addCleanup(shutil.rmtree, d)
        watched = os.path.join(d, "watched")
        with open(watched, "w") as f:
            f.write("not for root to open")
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        os.symlink(watched, os.path.join(mnt, "x"))
        with Victim("victim_hostile_map", "symlink", mnt, watched) as v:
            watch = OpenWatch(watched)
            self.addCleanup(watch.close)
            for prefix in ((), ("setpriv", "--bounding-set=-sys_admin,-checkpoint_restore")):
                s = Session(prefix)
                try:
                    for key in ("file", "del"):
                        _, a = s.request("probe_region", pid=v.pid, start=hex(v.hex(key)))
                        self.assertTrue(a["ok"], a)
                        if not prefix:
                            self.assertEqual(b"MS_PLANTED", base64.b64decode(a["result"]["head"])[:10],
                                             "with map_files the page comes from the mapped file")
                finally:
                    self.assertEqual(0, s.close())
            self.assertEqual(0, watch.opens(), "the stub opened the file a planted symlink points to")


class DeviceMappingTest(unittest.TestCase):
    """Device memory is told by VmFlags (io, pf), never by a path under /dev."""

    def test_smaps_lines(self):
        self.assertEqual(("header", None),
                         maps_parse.smaps_line_kind(b"7f0000000000-7f0000001000 r-xp 0 00:05 12 /dev/x"))
        self.assertEqual(("other", None), maps_parse.smaps_line_kind(b"Size:                  4 kB"))
        self.assertEqual(("vmflags", {b"io", b"pf"}), maps_parse.smaps_line_kind(b"VmFlags: rd mr pf io de dd"))
        self.assertEqual(("vmflags", set()), maps_parse.smaps_line_kind(b"VmFlags: rd ex iox xpf"))
        self.assertIn(next(r["start"] for r in regions.iter_regions(os.getpid()) if r["path"] == b"[vvar]"),
                      dump.device_starts(os.getpid()))

    @unittest.skipUnless(os.geteuid() == 0, "the victim makes a mount namespace of its own")
    def test_a_payload_on_a_tmpfs_mounted_on_dev_is_dumped(self):
        d = tempfile.mkdtemp(prefix="memsentry-stub-dev-")
        self.addCleanup(shutil.rmtree, d)
        s = Session()
        self.addCleanup(s.close)
        with Victim("victim_hostile_map", "devtmpfs") as v:
            path = os.path.join(d, "v.raw")
            _, a = s.request("dump", pid=v.pid, path=path)
            self.assertTrue(a["ok"], a)
            with open(path + ".json") as f:
                entry = next(e for e in json.load(f)["regions"] if int(e["start"], 16) == v.hex("dev"))
            self.assertEqual("ok", entry["status"], entry)
            with open(path, "rb") as f:
                self.assertIn(b"MS_DEV_PAYLOAD", f.read())


class CancelTest(unittest.TestCase):
    def setUp(self):
        self.s = Session()
        self.addCleanup(self.s.close)

    def test_a_cancelled_list_stops_early_with_stopped_and_the_stub_goes_on(self):
        with Victim("victim_marker") as v:
            total, _ = self.s.request("list_regions", pid=v.pid)
            self.assertGreater(len(total), 5)
            # The cancel is on its way before the first item: the stub sees it after that item.
            self.s.send(json.dumps({"v": 1, "id": 100, "op": "list_regions", "pid": v.pid}).encode()
                        + b'\n{"v":1,"id":100,"op":"cancel"}')
            self.assertIn("item", self.s.answer())
            a = self.s.answer()
            self.assertEqual(100, a["id"])
            self.assertEqual("stopped", a["error"]["status"], a)
            self.s.send(b'{"v":1,"id":100,"op":"cancel"}')  # late: ignored, never answered
            _, a = self.s.request("get_process", pid=v.pid)
            self.assertTrue(a["ok"])


class DumpTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="memsentry-stub-dump-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.s = Session()
        self.addCleanup(self.s.close)

    def test_dump_sends_progress_then_the_totals_and_never_bytes(self):
        with Victim("victim_marker") as v:
            path = os.path.join(self.dir, "v.raw")
            self.s.send(json.dumps({"v": 1, "id": 1, "op": "dump", "pid": v.pid, "path": path}).encode())
            lines = []
            while True:
                a = self.s.answer()
                lines.append(a)
                if "ok" in a:
                    break
            self.assertTrue(all("progress" in x for x in lines[:-1]))
            self.assertTrue(lines[-1]["ok"], lines[-1])
            r = lines[-1]["result"]
            self.assertEqual(os.path.getsize(path), r["file_size"])
            self.assertNotIn("data", r)
            with open(path + ".json") as f:
                manifest = json.load(f)
            self.assertEqual(r["regions"], len(manifest["regions"]))

    def test_a_file_that_appears_at_the_destination_is_never_replaced(self):
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for name, content in ((b".x.partial-1", b"new dump"), (b"x.raw", b"someone else's file")):
                with open(os.path.join(os.fsencode(self.dir), name), "wb") as f:
                    f.write(content)
            with self.assertRaises(common.Failure) as e:
                evidence.publish(fd, b".x.partial-1", b"x.raw", False)
            self.assertEqual(common.EXISTS, e.exception.status)
            with open(os.path.join(self.dir, "x.raw"), "rb") as f:
                self.assertEqual(b"someone else's file", f.read())
            evidence.publish(fd, b".x.partial-1", b"y.raw", False)
            self.assertEqual(["x.raw", "y.raw"], sorted(os.listdir(self.dir)), "linked into place, temporary name gone")
        finally:
            os.close(fd)

    def test_manifest_names_tell_bytes_from_lookalike_text(self):
        """As agent-c writes them and Java's BytesText reads names: the byte 0xff as \\xff, the
        character U+00FF as itself, the text \\xff as \\\\xff."""
        self.assertEqual("n\\xff", common.manifest_text(b"n\xff"))
        self.assertEqual("n\u00ff", common.manifest_text("n\u00ff".encode()))
        self.assertEqual("n\\\\xff", common.manifest_text(b"n\\xff"))
        self.assertEqual("C:\\W", common.manifest_text(b"C:\\W"))
        names = os.path.join(self.dir, "names")
        os.mkdir(names)
        with Victim("victim_hostile_names", names) as v:
            path = os.path.join(self.dir, "n.raw")
            _, a = self.s.request("dump", pid=v.pid, path=path)
            self.assertTrue(a["ok"], a)
            with open(path + ".json") as f:
                manifest = json.load(f)
            by_start = {int(e["start"], 16): e["path"] for e in manifest["regions"]}
            self.assertEqual(names + "/esc\x1b[2J\x1b[H\u202e", by_start[v.hex("esc")])
            self.assertEqual(names + "/name\\xff", by_start[v.hex("ff")])
            self.assertEqual(names + "/name\u00ff", by_start[v.hex("yy")])
            self.assertEqual(names + "/name\\\\xff", by_start[v.hex("bsx")])
            self.assertEqual("n\n\x1b[2J\x1b]0;t\x07", manifest["process"]["name"])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a directory away")
    def test_a_directory_another_user_owns_or_may_write_is_refused(self):
        theirs = os.path.join(self.dir, "theirs")
        shared = os.path.join(self.dir, "shared")
        os.mkdir(theirs, 0o755)
        os.chown(theirs, 65534, 65534)
        os.mkdir(shared)
        os.chmod(shared, 0o770)
        os.symlink(self.dir, os.path.join(self.dir, "link"))
        with Victim("victim_marker") as v:
            for d, why in ((theirs, "owned by uid 65534"), (shared, "writable by group or others"),
                           (os.path.join(self.dir, "link"), "symbolic link")):
                _, a = self.s.request("dump", pid=v.pid, path=os.path.join(d, "v.raw"))
                self.assertFalse(a["ok"], a)
                self.assertIn(why, a["error"]["message"])
            self.assertEqual([], os.listdir(theirs) + os.listdir(shared))

    def test_a_stub_killed_mid_write_leaves_nothing(self):
        """The data file is unnamed (O_TMPFILE) until the dump commits: SIGKILL leaves no file behind."""
        with Victim("victim_bigheap", "256") as v:
            path = os.path.join(self.dir, "killed.raw")
            self.s.send(json.dumps({"v": 1, "id": 1, "op": "dump", "pid": v.pid, "path": path,
                                    "max_region_size": 0}).encode())
            writing = None
            while writing is None:
                a = self.s.answer()
                self.assertNotIn("ok", a, "the dump ended before it could be killed")
                if a["progress"]["done"] == 0:
                    continue
                fds = os.path.join("/proc", str(self.s.proc.pid), "fd")
                for fd in os.listdir(fds):
                    try:
                        target = os.readlink(os.path.join(fds, fd))
                    except OSError:
                        continue
                    if target.startswith(self.dir + "/"):
                        writing = target
            self.s.proc.kill()
            self.s.proc.wait()
            self.assertIn("(deleted)", writing, "the data file had a name while it was written")
            self.assertEqual([], os.listdir(self.dir))

    def test_without_o_tmpfile_the_file_is_written_under_a_hidden_name_and_published(self):
        """A file system that refuses O_TMPFILE: the data goes to ".NAME.partial-TOKEN", linked into
        place at the end; a failed dump removes it."""
        real_open = os.open

        def refusing_tmpfile(path, flags, *args, **kwargs):
            if flags & os.O_TMPFILE == os.O_TMPFILE:
                raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
            return real_open(path, flags, *args, **kwargs)
        names = []
        real_publish = evidence.publish

        def watching(dir_fd, tmp_name, name, force):
            names.append((tmp_name, sorted(os.listdir(self.dir))))
            return real_publish(dir_fd, tmp_name, name, force)
        options = {"force": False, "suspicious_only": False, "sync": False, "max_region_size": 1 << 20,
                   "max_total_size": 0, "skip_nonexec_over": 0}
        with Victim("victim_marker") as v, mock.patch("os.open", refusing_tmpfile), \
                mock.patch.object(evidence, "publish", watching):
            path = os.path.join(self.dir, "v.raw")
            totals = dump.dump_process(v.pid, path, options, lambda done, total: None)
            self.assertEqual(os.path.getsize(path), totals["file_size"])
            self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
            self.assertEqual([b".v.raw.json.partial-", b".v.raw.partial-"],
                             sorted(t[:-12] for t, _ in names))
            self.assertIn(os.fsdecode(names[0][0]), names[0][1])
            self.assertEqual(["v.raw", "v.raw.json"], sorted(os.listdir(self.dir)))
            with self.assertRaises(common.Failure) as e:
                dump.dump_process(v.pid, path, options, lambda done, total: None)
            self.assertEqual(common.EXISTS, e.exception.status)
            self.assertEqual(["v.raw", "v.raw.json"], sorted(os.listdir(self.dir)))

    def test_dump_into_a_missing_directory_fails_cleanly(self):
        with Victim("victim_marker") as v:
            _, a = self.s.request("dump", pid=v.pid, path=os.path.join(self.dir, "no", "such", "dir.raw"))
            self.assertFalse(a["ok"])
            self.assertEqual("io_error", a["error"]["status"])
            self.assertEqual([], os.listdir(self.dir))


class TerminateTest(unittest.TestCase):
    """Termination of victims we started, with a pidfd where this Python and kernel have one, and
    through the kill() fallback that older Pythons (before 3.9) and kernels (before 5.3) get."""

    def run_terminate(self, victim, grace_ms, fallback):
        if fallback:
            with mock.patch.object(os, "pidfd_open", None, create=True):
                return terminate.terminate(victim.pid, grace_ms, False, [], {os.getpid()})
        return terminate.terminate(victim.pid, grace_ms, False, [], {os.getpid()})

    def test_sigterm_then_the_report(self):
        for fallback in (False, True):
            with Victim("victim_marker") as v:
                status, report = self.run_terminate(v, 5000, fallback)
                self.assertEqual((common.OK, "terminated", ["SIGTERM"]), (status, report["result"], report["signals"]),
                                 report)
                self.assertEqual(-15, v.proc.wait(timeout=10))
                self.assertEqual(fallback or not hasattr(os, "pidfd_open"), "kill() fallback" in report["reason"])

    def test_no_grace_is_sigkill(self):
        for fallback in (False, True):
            with Victim("victim_marker") as v:
                status, report = self.run_terminate(v, 0, fallback)
                self.assertEqual(("killed", ["SIGKILL"]), (report["result"], report["signals"]), report)
                self.assertEqual(-9, v.proc.wait(timeout=10))

    def test_a_stopped_process_is_killed_without_being_resumed(self):
        with Victim("victim_marker") as v:
            os.kill(v.pid, signal.SIGSTOP)
            for _ in range(500):
                with open("/proc/%d/stat" % v.pid, "rb") as f:
                    if f.read().rsplit(b")", 1)[1].split()[0] == b"T":
                        break
                time.sleep(0.01)
            status, report = self.run_terminate(v, 5000, False)
            self.assertEqual(("killed", ["SIGKILL"]), (report["result"], report["signals"]), report)
            self.assertIn("stopped", report["reason"])
            self.assertEqual(-9, v.proc.wait(timeout=10))

    def test_a_pinned_process_that_exited_is_not_confused_with_its_pids_next_owner(self):
        if not hasattr(os, "pidfd_open"):
            self.skipTest("no pidfds in this Python")
        with Victim("victim_marker") as v:
            start = terminate.pin_start_time(v.pid)
            status, report = terminate.terminate(v.pid, 0, True, [], set(), start + 1)
            self.assertEqual((common.NO_SUCH_PROCESS, "not-found", []), (status, report["result"], report["signals"]))
            self.assertIn("PID now names another process", report["reason"])
            self.assertIsNone(v.proc.poll(), "nothing was sent")
            status, report = terminate.terminate(v.pid, 0, False, [], set(), start)
            self.assertEqual(("killed", ["SIGKILL"]), (report["result"], report["signals"]), report)

    def test_the_caller_and_its_parents_are_refused(self):
        with Victim("victim_marker") as v:
            status, report = terminate.terminate(os.getpid(), 0, False, [], {os.getpid()})
            self.assertEqual((common.PROTECTED, "self"), (status, report["protection"]))
            exe = os.readlink("/proc/%d/exe" % v.pid).encode()
            status, report = terminate.terminate(v.pid, 0, True, [exe], {os.getpid()})
            self.assertEqual((common.PROTECTED, "path", []), (status, report["protection"], report["signals"]))
            self.assertIsNone(v.proc.poll(), "nothing was sent")
        status, report = terminate.terminate(2 ** 31 - 1, 0, False, [], {os.getpid()})
        self.assertEqual((common.NO_SUCH_PROCESS, "not-found"), (status, report["result"]))


class ProtectionByIdentityTest(unittest.TestCase):
    """An entry protects the file it names (agent-c/src/linux/protect_identity.c), not a copy of it."""

    def test_a_system_binary_is_protected_by_name_and_path_and_its_copy_is_not(self):
        real = "/usr/bin/sleep"
        if not os.path.exists(real) or os.stat(real).st_uid != 0:
            self.skipTest("needs a root-owned /usr/bin/sleep")
        tmp = tempfile.mkdtemp(prefix="ms-masquerade-")
        copy = os.path.join(tmp, "sleep")
        shutil.copy(real, copy)
        genuine = subprocess.Popen([real, "30"])
        fake = subprocess.Popen([copy, "30"])
        try:
            for p, path in ((genuine, real), (fake, copy)):
                deadline = time.time() + 5
                while os.readlink("/proc/%d/exe" % p.pid) != path and time.time() < deadline:
                    time.sleep(0.01)
            self.assertEqual("name", terminate.protect_check(genuine.pid, [b"sleep"], set())[0])
            self.assertEqual("path", terminate.protect_check(genuine.pid, [b"/bin/sleep"], set())[0])
            self.assertEqual("none", terminate.protect_check(fake.pid, [b"sleep"], set())[0])
            self.assertEqual("none", terminate.protect_check(fake.pid, [b"/usr/bin/sleep"], set())[0])
            self.assertEqual("path", terminate.protect_check(fake.pid, [copy.encode()], set())[0])
        finally:
            for p in (genuine, fake):
                p.kill()
                p.wait()
            shutil.rmtree(tmp)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare for a PID namespace")
class PidNamespaceTest(unittest.TestCase):
    """PID 1 and process sweeps, inside a PID namespace that holds only the stub."""

    def test_pid_1_is_refused_and_a_sweep_sees_only_the_namespace(self):
        s = Session(prefix=("unshare", "--pid", "--fork", "--mount-proc"))
        try:
            _, hello = s.request("hello")
            self.assertEqual(1, hello["result"]["pid"], "the stub is the init of its namespace")
            items, a = s.request("list_processes")
            self.assertTrue(a["ok"])
            self.assertEqual([1], [p["pid"] for p in items])
            for dry in (True, False):
                _, a = s.request("terminate", pid=1, dry_run=dry, grace_ms=0)
                self.assertEqual("protected", a["error"]["status"])
                self.assertEqual(("refused", "init", []), (a["result"]["result"], a["result"]["protection"],
                                                          a["result"]["signals"]))
            _, a = s.request("protect_check", pid=1)
            self.assertEqual(("init", 1), (a["result"]["protection"], a["result"]["pid"]))
            _, a = s.request("hello")
            self.assertTrue(a["ok"], "still alive")
        finally:
            self.assertEqual(0, s.close())

    def test_a_proc_of_another_namespace_is_refused_before_anything_is_sent(self):
        # A new PID namespace without its own /proc: /proc still shows the parent namespace, so
        # its facts about "pid 1" would be another process's. The stub (PID 1 here) refuses.
        s = Session(prefix=("unshare", "--pid", "--fork"))
        try:
            _, hello = s.request("hello")
            self.assertEqual(1, hello["result"]["pid"])
            answers = {}
            for op, extra in (("terminate", {"grace_ms": 0}), ("protect_check", {})):
                _, answers[op] = s.request(op, pid=1, **extra)
                self.assertEqual("unsupported", answers[op]["error"]["status"], answers[op])
                self.assertIn("another PID namespace", answers[op]["error"]["message"])
            self.assertEqual(("failed", []), (answers["terminate"]["result"]["result"],
                                              answers["terminate"]["result"]["signals"]))
        finally:
            self.assertEqual(0, s.close())


if __name__ == "__main__":
    unittest.main()
