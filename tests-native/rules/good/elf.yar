// Many matches across file-backed and anonymous regions, and a condition
// that reads memory again through uint8() after the scan pass.
rule elf_headers_in_memory
{
    strings:
        $elf = { 7F 45 4C 46 02 01 01 }
    condition:
        #elf >= 2 and for any i in (1..#elf) : (uint16(@elf[i] + 16) == 3)
}

rule never_matches
{
    strings:
        $n = "memsentry: this string is in no process 0c9d2e"
    condition:
        $n
}
