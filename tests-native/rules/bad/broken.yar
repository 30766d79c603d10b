// A rule that does not compile: the condition uses an undefined string (yara
// reports it at line 9, where the rule ends).
rule fine_rule
{
    strings:
        $a = "fine"
    condition:
        $a and $undefined_string
}
