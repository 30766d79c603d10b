// memsentry's own test rules: markers left by tests-native/victims/victim_yara.c.
rule heap_alpha : victim heap
{
    meta:
        description = "the heap marker"
        severity = 70
        tested = true
    strings:
        $alpha = "MEMSENTRY-YARA-ALPHA-4242"
    condition:
        $alpha
}

rule straddling_beta : victim
{
    strings:
        $beta = "MEMSENTRY-YARA-BETA-777"
    condition:
        $beta
}

rule rodata_string
{
    strings:
        $ro = "MEMSENTRY-YARA-RODATA-5b1e"
    condition:
        $ro
}

rule memfd_marker
{
    strings:
        $m = "MEMSENTRY-YARA-MEMFD-31337"
    condition:
        $m
}

rule private_string_hidden
{
    strings:
        $shown = "MEMSENTRY-YARA-ALPHA"
        $hidden = "MEMSENTRY-YARA-BETA" private
    condition:
        $shown and $hidden
}
