"""The ctypes binding against the real library and a real victim process (run by ctest:
MEMSENTRY_LIB is the built libmemsentry.so, MEMSENTRY_VICTIM_DIR the victims' directory, and
PYTHONPATH holds tests-native/python, where the victim starter shared with the stub's tests lives)."""

import os
import threading
import unittest

import memsentry
from victims import Victim


class BindingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lib = memsentry.load(os.environ["MEMSENTRY_LIB"])

    def setUp(self):
        self.agent = memsentry.Agent(self.lib)
        self.addCleanup(self.agent.close)

    def test_version_matches_the_header(self):
        self.assertEqual(self.lib.ms_version_number() // 1000000, memsentry.EXPECTED_MAJOR)
        self.assertRegex(self.lib.ms_version().decode(), r"^\d+\.\d+\.\d+$")

    def test_regions_hold_the_marker_and_reads_return_it(self):
        marker = b"CTYPES-MARKER-%d" % os.getpid()
        with Victim("victim_marker", marker.decode()) as v:
            regions = self.agent.regions(v.pid)
            self.assertEqual(sorted(regions, key=lambda r: r.start), regions, "address order")
            with open("/proc/%d/maps" % v.pid, "rb") as maps:
                self.assertEqual(len(maps.read().splitlines()), len(regions), "one region per maps line")
            addr = v.hex("addr")
            holder = [r for r in regions if r.contains(addr)]
            self.assertEqual(1, len(holder))
            self.assertEqual("anonymous", holder[0].kind_name)
            self.assertEqual("rw-p", holder[0].perms_string)
            self.assertEqual(v.hex("map"), holder[0].start)
            self.assertEqual(marker, self.agent.read(v.pid, addr, len(marker)))
            exe = [r for r in regions if r.kind_name == "file" and r.path.endswith(b"/victim_marker")]
            self.assertTrue(exe and exe[0].offset == 0)
            self.assertEqual(b"\x7fELF", self.agent.read(v.pid, exe[0].start, 4))

    def test_a_read_into_unmapped_memory_is_short_or_fails_with_partial_read(self):
        with Victim("victim_marker") as v:
            end = v.hex("map") + int(v.facts["map_len"])
            self.assertEqual(4096, len(self.agent.read(v.pid, end - 4096, 8192)))
            with self.assertRaises(memsentry.Error) as e:
                self.agent.read(v.pid, 0x1000, 8)
            self.assertEqual("partial_read", e.exception.status)

    def test_process_facts(self):
        with Victim("victim_marker", "one", "two words") as v:
            p = self.agent.process(v.pid)
            self.assertEqual(os.getpid(), p.ppid)
            self.assertEqual(b"victim_marker", p.name)
            self.assertEqual(os.fsencode(os.path.join(os.environ["MEMSENTRY_VICTIM_DIR"], "victim_marker")), p.exe)
            self.assertEqual([p.exe, b"one", b"two words"], p.argv)
            self.assertFalse(p.kernel_thread)
            self.assertIn(p, self.agent.processes())

    def test_errors_carry_status_names(self):
        for call in (lambda: self.agent.regions(2 ** 31 - 1), lambda: self.agent.process(2 ** 31 - 1)):
            with self.assertRaises(memsentry.Error) as e:
                call()
            self.assertEqual("no_such_process", e.exception.status)
            self.assertIn(str(2 ** 31 - 1), e.exception.detail)
        with self.assertRaises(memsentry.Error) as e:
            self.agent.regions(0)
        self.assertEqual("invalid_argument", e.exception.status)

    def test_an_exception_in_python_stops_the_enumeration(self):
        seen = []

        def boom(r):
            seen.append(r)
            raise KeyError("stop here")

        with Victim("victim_marker") as v:
            with self.assertRaises(KeyError):
                self.agent._stream(self.lib.ms_region_list, memsentry._REGION_CB, boom, v.pid)
            self.assertEqual(1, len(seen), "the C loop stopped at the first callback")

    def test_one_handle_serves_several_threads(self):
        with Victim("victim_marker") as v:
            results, errors = [], []

            def work():
                try:
                    results.append(len(self.agent.regions(v.pid)))
                except Exception as e:  # collected and asserted below
                    errors.append(e)

            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual([], errors)
            self.assertEqual(1, len(set(results)))


if __name__ == "__main__":
    unittest.main()
