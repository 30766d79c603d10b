// Five plain string rules for bench/yara_scan.sh: one finds the markers of
// tests-native/victims/victim_bigheap.c, four find nothing there.
rule bench_marker { strings: $m = "MEMSENTRY-BENCH-MARKER-" condition: $m }
rule bench_absent_1 { strings: $a = "memsentry-absent-4f1d2c9a" condition: $a }
rule bench_absent_2 { strings: $a = "Xq7!memsentry?absent#2" condition: $a }
rule bench_absent_3 { strings: $a = { 4D 53 2D 42 45 4E 43 48 2D 33 } condition: $a }
rule bench_absent_4 { strings: $a = "memsentry absent four" wide condition: $a }
