// The marker of tests-native/victims/payload/image_payload.c: in the code of
// the image victim_image_swap maps into anonymous memory, and in its heap copy.
rule image_marker
{
    strings:
        $m = "MEMSENTRY-YARA-IMAGE-9321"
    condition:
        $m
}
