// Any one marker of tests-native/victims/victim_bigheap.c: stale bytes of an
// earlier scan would show up as one.
rule big_heap_any_marker
{
    strings:
        $m = "MEMSENTRY-BENCH-MARKER-"
    condition:
        $m
}
