package dev.memsentry.detect;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The built-in heuristics, each one switchable and re-rated in the configuration by its id. */
public final class BuiltinRules {
    private static final List<String> PROCESS_INTRUSION = List.of("process", "intrusion_detection");
    private static final List<String> FILE_INTRUSION = List.of("process", "file", "intrusion_detection");

    public static final Rule EXEC_ANONYMOUS = new Rule("memory.exec_anonymous", "Executable anonymous memory",
        Severity.HIGH, "T1055", "Process Injection", PROCESS_INTRUSION,
        "Executable memory that no file backs (named [anon:...] regions included), where injected code lives.",
        true);
    public static final Rule RWX = new Rule("memory.rwx", "Writable and executable memory",
        Severity.HIGH, "T1055", "Process Injection", PROCESS_INTRUSION,
        "A mapping that is readable, writable and executable at once, so code can be written and run in place.",
        true);
    public static final Rule EXEC_HEAP_STACK = new Rule("memory.exec_heap_stack", "Executable heap or stack",
        Severity.HIGH, "T1055", "Process Injection", PROCESS_INTRUSION,
        "The [heap] or a [stack] mapping is executable, which no modern toolchain produces.",
        false);
    public static final Rule REFLECTIVE_ELF = new Rule("memory.reflective_elf", "ELF image in anonymous memory",
        Severity.HIGH, "T1620", "Reflective Code Loading", PROCESS_INTRUSION,
        "An ELF header at the start of anonymous or memfd memory: an image loaded without the dynamic loader.",
        false);
    public static final Rule REFLECTIVE_PE = new Rule("memory.reflective_pe", "PE image in anonymous memory",
        Severity.HIGH, "T1620", "Reflective Code Loading", PROCESS_INTRUSION,
        "An MZ/PE header at the start of anonymous or memfd memory: a Windows image loaded by hand.",
        true);
    public static final Rule EXE_MEMFD = new Rule("fileless.exe_memfd", "Process runs from a memfd",
        Severity.HIGH, "T1620", "Reflective Code Loading", FILE_INTRUSION,
        "The process's executable is a memfd_create() file that exists only in memory.",
        false);
    public static final Rule EXE_DELETED = new Rule("fileless.exe_deleted", "Executable deleted",
        Severity.HIGH, "T1070.004", "Indicator Removal: File Deletion", FILE_INTRUSION,
        "The process's executable was deleted after it started (low when a file now sits at its path, as after an upgrade).",
        false);
    public static final Rule MAP_DELETED = new Rule("fileless.map_deleted", "Executable mapping of a deleted file",
        Severity.HIGH, "T1070.004", "Indicator Removal: File Deletion", FILE_INTRUSION,
        "Code mapped from a file that was deleted (low when a file now sits at its path, as after an upgrade).",
        false);
    public static final Rule MAP_MEMFD = new Rule("fileless.map_memfd", "Executable mapping of a memfd",
        Severity.HIGH, "T1620", "Reflective Code Loading", FILE_INTRUSION,
        "Code mapped from a memfd_create() file that exists only in memory.",
        true);
    public static final Rule MAP_TMPFS = new Rule("fileless.map_tmpfs", "Executable mapping from tmpfs",
        Severity.HIGH, "T1564", "Hide Artifacts", FILE_INTRUSION,
        "Code mapped from a file on tmpfs or ramfs (/dev/shm, a tmpfs /tmp): gone without a trace at reboot.",
        false);
    public static final Rule CODE_PATCHED = new Rule("code.patched", "Code differs from its file",
        Severity.HIGH, "T1055", "Process Injection", PROCESS_INTRUSION,
        "Pages of a file-backed executable mapping whose bytes differ from the mapped file: hooks or patches.",
        false);
    public static final Rule IMAGE_PROTECTION = new Rule("memory.image_protection",
        "Image pages with more rights than their section", Severity.HIGH, "T1055", "Process Injection",
        PROCESS_INTRUSION,
        "Pages of a loaded Windows image that are executable or writable although the section they lie in, per the "
            + "image file on disk, is not: code staged in an image's data, or code made writable to patch it.",
        false);
    public static final Rule LD_PRELOAD = new Rule("inject.ld_preload", "LD_PRELOAD or LD_AUDIT set",
        Severity.MEDIUM, "T1574.006", "Hijack Execution Flow: Dynamic Linker Hijacking", PROCESS_INTRUSION,
        "The process was started with LD_PRELOAD or LD_AUDIT, which load a library into it first.",
        false);
    public static final Rule LD_SO_PRELOAD = new Rule("inject.ld_so_preload", "/etc/ld.so.preload in use",
        Severity.HIGH, "T1574.006", "Hijack Execution Flow: Dynamic Linker Hijacking", FILE_INTRUSION,
        "A non-empty /etc/ld.so.preload (in the process's root) loads a library into every program.",
        false);
    public static final Rule TRACER = new Rule("inject.tracer", "Traced by an unknown tracer",
        Severity.HIGH, "T1055.008", "Process Injection: Ptrace System Calls", PROCESS_INTRUSION,
        "A process is attached with ptrace by something that is neither a known debugger nor memsentry.",
        false);
    public static final Rule LIBRARY_RUNTIME = new Rule("inject.library_runtime", "Library loaded at run time",
        Severity.HIGH, "T1055.001", "Process Injection: Dynamic-link Library Injection", FILE_INTRUSION,
        "A shared object outside the executable's DT_NEEDED closure (dlopen, an injector) that lives where other users "
            + "can write it; low when nobody else can write it but it lies outside the system library directories "
            + "and the package manager's files.",
        false);
    public static final Rule LIBRARY_WRITABLE = new Rule("inject.library_writable", "Code mapped from a writable location",
        Severity.MEDIUM, "T1574.006", "Hijack Execution Flow: Dynamic Linker Hijacking", FILE_INTRUSION,
        "The executable or a library it needs is mapped from a file that another user can replace (a directory writable "
            + "by others, such as /tmp, or a file or directory owned by another user); low when only the process's own "
            + "user or a group can.",
        false);
    public static final Rule IMAGE_MISMATCH = new Rule("process.image_mismatch", "Program image in anonymous memory",
        Severity.HIGH, "T1620", "Reflective Code Loading", PROCESS_INTRUSION,
        "An ELF program (an executable, or one naming an interpreter) lies in anonymous memory while /proc/PID/exe "
            + "still names the original program: the process replaced its image in place (a userland exec).",
        false);
    public static final Rule THREAD_ANONYMOUS = new Rule("thread.exec_anonymous", "Thread running anonymous code",
        Severity.HIGH, "T1055", "Process Injection", PROCESS_INTRUSION,
        "A thread's instruction pointer lies in executable memory no file backs: a sleeping implant.",
        true);

    // Raised by `trace` on the syscall stream, not by `scan`.
    public static final Rule TRACE_WX_TRANSITION = new Rule("trace.wx_transition", "Writable memory made executable",
        Severity.HIGH, "T1055", "Process Injection", PROCESS_INTRUSION,
        "mprotect added PROT_EXEC to memory that was writable: code written, then run (W^X transition).",
        true);
    public static final Rule TRACE_MAP_WX = new Rule("trace.map_wx", "Memory asked writable and executable",
        Severity.HIGH, "T1055", "Process Injection", PROCESS_INTRUSION,
        "mmap or mprotect asked for PROT_WRITE|PROT_EXEC at once, so code can be written and run in place.",
        true);
    public static final Rule TRACE_ANON_EXEC = new Rule("trace.anon_exec", "Anonymous memory made executable",
        Severity.MEDIUM, "T1055", "Process Injection", PROCESS_INTRUSION,
        "Memory no ordinary file backs (anonymous, heap and stack included, a memfd, a tmpfs or deleted file, System V "
            + "shared memory) mapped or made executable without being writable first: code placed there another way "
            + "(a second mapping, a write from outside).",
        true);
    public static final Rule TRACE_INJECTOR = new Rule("trace.injector", "Traced program injects into another process",
        Severity.HIGH, "T1055.008", "Process Injection: Ptrace System Calls", PROCESS_INTRUSION,
        "The traced program attached to or wrote into another process (ptrace ATTACH, SEIZE, POKETEXT/POKEDATA/POKEUSER, "
            + "SETREGS/SETREGSET, process_vm_writev, another process's /proc/PID/mem opened or written), failed or not; "
            + "known debuggers (known_debuggers) excepted.",
        false);
    public static final Rule TRACE_PROC_MEM_WRITE = new Rule("trace.proc_mem_write", "Code written through /proc/self/mem",
        Severity.HIGH, "T1055.009", "Process Injection: Proc Memory", PROCESS_INTRUSION,
        "A write through the process's own /proc/PID/mem into memory that is executable or not writable: the kernel "
            + "writes there whatever the protection, so code is patched without any mprotect.",
        false);
    public static final Rule TRACE_UNTRACED_THREAD = new Rule("trace.untraced_thread", "Thread hidden from the tracer",
        Severity.HIGH, "T1562", "Impair Defenses", PROCESS_INTRUSION,
        "A thread of a traced process ran untraced (made with clone(CLONE_UNTRACED), which no tracer is told about); "
            + "found by the periodic rescan of /proc/PID/task and seized.",
        false);

    /** What `scan` checks. */
    public static final List<Rule> SCAN = List.of(EXEC_ANONYMOUS, RWX, EXEC_HEAP_STACK, REFLECTIVE_ELF, REFLECTIVE_PE,
        EXE_MEMFD, EXE_DELETED, MAP_DELETED, MAP_MEMFD, MAP_TMPFS, CODE_PATCHED, IMAGE_PROTECTION, LD_PRELOAD, LD_SO_PRELOAD, TRACER,
        THREAD_ANONYMOUS, LIBRARY_RUNTIME, LIBRARY_WRITABLE, IMAGE_MISMATCH);

    /** What `trace` raises. */
    public static final List<Rule> TRACE = List.of(TRACE_WX_TRANSITION, TRACE_MAP_WX, TRACE_ANON_EXEC, TRACE_INJECTOR,
        TRACE_PROC_MEM_WRITE, TRACE_UNTRACED_THREAD);

    /** Every built-in rule: the ids a configuration may switch off or re-rate. */
    public static final List<Rule> ALL = java.util.stream.Stream.concat(SCAN.stream(), TRACE.stream()).toList();

    private static final Map<String, Rule> BY_ID = ALL.stream().collect(Collectors.toMap(Rule::id, Function.identity()));

    private BuiltinRules() {
    }

    public static Optional<Rule> byId(String id) {
        return Optional.ofNullable(BY_ID.get(id));
    }
}
