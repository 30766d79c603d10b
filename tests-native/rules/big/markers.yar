// The markers of tests-native/victims/victim_bigheap.c.
rule big_heap_marker
{
    strings:
        $m = "MEMSENTRY-BENCH-MARKER-"
    condition:
        #m == 4 and uint8(@m[1] + 23) == 0x30
}
