/* The trampoline page and the stub patches of the Windows tracer; see trace_hook.h. */
#include "trace_hook.h"

#include <inttypes.h>
#include <string.h>

static const char *const fn_names[MS_WIN_FN_COUNT] = {
    "NtAllocateVirtualMemory", "NtProtectVirtualMemory", "NtFreeVirtualMemory", "NtMapViewOfSection",
    "NtUnmapViewOfSection",    "NtWriteVirtualMemory",   "NtCreateThreadEx"};
/* Arguments beyond the four in registers: NtAllocateVirtualMemory has 6, NtProtectVirtualMemory 5,
 * NtFreeVirtualMemory 4, NtMapViewOfSection 10, NtUnmapViewOfSection 2, NtWriteVirtualMemory 5,
 * NtCreateThreadEx 11. */
static const int fn_stack_args[MS_WIN_FN_COUNT] = {2, 1, 0, 6, 0, 1, 7};

/* The page starts with this, so a later session (or a reader of the target's memory) knows it. */
static const char page_magic[16] = "memsentry trace";

enum {
    PAGE = 4096,
    HANDLER_AT = 0x10,
    INSTALLER_AT = 0x60,
    INSTALLER_BP_AT = 0xa0,
    WRAPPERS_AT = 0x100,
    WRAPPER_SIZE = 0x100,
    STUB_BYTES = 8 /* mov r10, rcx (3) + mov eax, imm32 (5) */
};

const char *ms__win_fn_name(int fn)
{
    return fn >= 0 && fn < MS_WIN_FN_COUNT ? fn_names[fn] : NULL;
}

int ms__win_fn_stack_args(int fn)
{
    return fn >= 0 && fn < MS_WIN_FN_COUNT ? fn_stack_args[fn] : 0;
}

/* A tiny x86-64 emitter writing into the local copy of the page at its address in the target. */
typedef struct emitter {
    uint8_t *buf;
    size_t at;
    uint64_t base;
} emitter;

static void emit(emitter *e, const void *bytes, size_t n)
{
    memcpy(e->buf + e->at, bytes, n);
    e->at += n;
}

static void emit1(emitter *e, uint8_t b)
{
    e->buf[e->at++] = b;
}

static void emit32(emitter *e, uint32_t v)
{
    emit(e, &v, 4);
}

static uint64_t here(const emitter *e)
{
    return e->base + e->at;
}

/* rel32 to target, measured from the end of the 4-byte field. */
static void emit_rel32(emitter *e, uint64_t target)
{
    int64_t rel = (int64_t)(target - (here(e) + 4));
    emit32(e, (uint32_t)(int32_t)rel);
}

/* mov r11, gs:[0x60] (the PEB); cmp byte [r11+2], 0 (BeingDebugged); je target */
static void emit_unless_debugged_jump(emitter *e, uint64_t target)
{
    static const uint8_t peb[] = {0x65, 0x4c, 0x8b, 0x1c, 0x25, 0x60, 0x00, 0x00, 0x00};
    static const uint8_t cmp[] = {0x41, 0x80, 0x7b, 0x02, 0x00};
    emit(e, peb, sizeof peb);
    emit(e, cmp, sizeof cmp);
    emit1(e, 0x0f);
    emit1(e, 0x84);
    emit_rel32(e, target);
}

/* The vectored handler: an int3 of this page (EXCEPTION_BREAKPOINT with Rip in the page) is
 * stepped over and execution continues; anything else goes on to the next handler. */
static void emit_handler(emitter *e, uint64_t page)
{
    static const uint8_t head[] = {
        0x48, 0x8b, 0x01,                         /* mov rax, [rcx]          ExceptionRecord */
        0x81, 0x38, 0x03, 0x00, 0x00, 0x80,       /* cmp dword [rax], 0x80000003 */
        0x75, 0x33,                               /* jne search */
        0x48, 0x8b, 0x41, 0x08,                   /* mov rax, [rcx+8]        ContextRecord */
        0x48, 0x8b, 0x90, 0xf8, 0x00, 0x00, 0x00, /* mov rdx, [rax+0xf8]     Rip */
        0x4c, 0x8d, 0x05};                        /* lea r8, [rip+page] */
    emit(e, head, sizeof head);
    emit_rel32(e, page);
    static const uint8_t tail[] = {
        0x49, 0x89, 0xd1,                         /* mov r9, rdx */
        0x4d, 0x29, 0xc1,                         /* sub r9, r8 */
        0x49, 0x81, 0xf9, 0x00, 0x10, 0x00, 0x00, /* cmp r9, 0x1000 */
        0x73, 0x12,                               /* jae search */
        0x80, 0x3a, 0xcc,                         /* cmp byte [rdx], 0xcc   still on the int3? */
        0x75, 0x07,                               /* jne handled */
        0x48, 0xff, 0x80, 0xf8, 0x00, 0x00, 0x00, /* inc qword [rax+0xf8]   step over it */
        0xb8, 0xff, 0xff, 0xff, 0xff,             /* handled: mov eax, -1 (EXCEPTION_CONTINUE_EXECUTION) */
        0xc3,                                     /* ret */
        0x31, 0xc0,                               /* search: xor eax, eax (EXCEPTION_CONTINUE_SEARCH) */
        0xc3};                                    /* ret */
    emit(e, tail, sizeof tail);
}

/* RtlAddVectoredExceptionHandler(1, handler), the answer stored in the data page; then ret (a
 * thread start routine) or int3 (a hijacked thread, whose context the debugger restores). */
static void emit_installer(emitter *e, uint64_t handler, uint64_t add_veh, uint64_t slot, bool ends_in_int3)
{
    static const uint8_t frame[] = {0x48, 0x83, 0xec, 0x28,        /* sub rsp, 0x28 */
                                    0xb9, 0x01, 0x00, 0x00, 0x00, /* mov ecx, 1 */
                                    0x48, 0x8d, 0x15};            /* lea rdx, [rip+handler] */
    emit(e, frame, sizeof frame);
    emit_rel32(e, handler);
    emit1(e, 0x48);
    emit1(e, 0xb8); /* mov rax, imm64 */
    emit(e, &add_veh, 8);
    static const uint8_t call[] = {0xff, 0xd0, 0x48, 0x89, 0x05}; /* call rax; mov [rip+slot], rax */
    emit(e, call, sizeof call);
    emit_rel32(e, slot);
    if (ends_in_int3) {
        emit1(e, 0xcc);
        return;
    }
    static const uint8_t ret[] = {0x48, 0x83, 0xc4, 0x28, 0x31, 0xc0, 0xc3}; /* add rsp, 0x28; xor eax, eax; ret */
    emit(e, ret, sizeof ret);
}

static void emit_wrapper(emitter *e, ms_win_hooks *h, int fn)
{
    int k = fn_stack_args[fn];
    /* The frame keeps rsp 16-byte aligned at the call (entry rsp is 8 mod 16): shadow space and
     * the k stack arguments, rounded to 8 mod 16. */
    uint32_t frame = 0x20 + 8u * (uint32_t)k;
    if (frame % 16 != 8)
        frame += 8;
    uint64_t start = here(e);
    uint64_t cont = start + WRAPPER_SIZE - 16; /* the displaced instructions sit at the wrapper's end */
    emit_unless_debugged_jump(e, cont);
    h->entry_bp[fn] = here(e);
    emit1(e, 0xcc);
    emit(e, (const uint8_t[]){0x48, 0x81, 0xec}, 3); /* sub rsp, frame */
    emit32(e, frame);
    for (int i = 0; i < k; i++) {
        emit(e, (const uint8_t[]){0x4c, 0x8b, 0x9c, 0x24}, 4); /* mov r11, [rsp+frame+0x28+8i] */
        emit32(e, frame + 0x28u + 8u * (uint32_t)i);
        emit(e, (const uint8_t[]){0x4c, 0x89, 0x9c, 0x24}, 4); /* mov [rsp+0x20+8i], r11 */
        emit32(e, 0x20u + 8u * (uint32_t)i);
    }
    emit1(e, 0xe8); /* call cont */
    emit_rel32(e, cont);
    emit(e, (const uint8_t[]){0x48, 0x81, 0xc4}, 3); /* add rsp, frame */
    emit32(e, frame);
    /* Not debugged any more: straight to the ret, one byte past the exit int3 that follows. */
    emit_unless_debugged_jump(e, here(e) + 20 + 1);
    h->exit_bp[fn] = here(e);
    emit1(e, 0xcc);
    emit1(e, 0xc3); /* ret */
    e->at = (size_t)(cont - e->base);
    h->cont[fn] = cont;
    emit(e, h->original[fn], STUB_BYTES); /* mov r10, rcx; mov eax, N */
    emit1(e, 0xe9);                       /* jmp stub+8 */
    emit_rel32(e, h->stub[fn] + STUB_BYTES);
}

/* A free 64 KiB-aligned place within ±1 GiB of ntdll for the two pages (rel32 jumps reach 2 GiB). */
static uint64_t alloc_near(HANDLE process, uint64_t ntdll)
{
    const uint64_t span = UINT64_C(1) << 30, gran = 0x10000;
    uint64_t lo = ntdll > span ? ntdll - span : gran;
    for (int pass = 0; pass < 2; pass++) {
        /* Below ntdll first, nearest first; then above it. */
        for (uint64_t i = 1; i < span / gran; i++) {
            uint64_t at = pass == 0 ? (ntdll & ~(gran - 1)) - i * gran : ((ntdll + span / 4) & ~(gran - 1)) + i * gran;
            if (at < lo)
                break;
            MEMORY_BASIC_INFORMATION mbi;
            if (VirtualQueryEx(process, (LPCVOID)(uintptr_t)at, &mbi, sizeof mbi) != sizeof mbi)
                continue;
            if (mbi.State != MEM_FREE)
                continue;
            void *p = VirtualAllocEx(process, (LPVOID)(uintptr_t)at, 2 * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
            if (p)
                return (uint64_t)(uintptr_t)p;
        }
    }
    return 0;
}

ms_status ms__win_hooks_prepare(HANDLE process, ms_win_hooks *h)
{
    memset(h, 0, sizeof *h);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    FARPROC add_veh = ntdll ? GetProcAddress(ntdll, "RtlAddVectoredExceptionHandler") : NULL;
    if (!add_veh)
        return ms__fail(MS_E_UNSUPPORTED, "ntdll!RtlAddVectoredExceptionHandler not found");
    int usable = 0;
    for (int fn = 0; fn < MS_WIN_FN_COUNT; fn++) {
        const uint8_t *p = (const uint8_t *)(uintptr_t)GetProcAddress(ntdll, fn_names[fn]);
        if (!p)
            continue;
        h->stub[fn] = (uint64_t)(uintptr_t)p;
        /* mov r10, rcx; mov eax, imm32: anything else (another product's hook) is left alone. */
        if (p[0] == 0x4c && p[1] == 0x8b && p[2] == 0xd1 && p[3] == 0xb8) {
            memcpy(h->original[fn], p, STUB_BYTES);
            h->usable[fn] = true;
            usable++;
        }
    }
    if (!usable)
        return ms__fail(MS_E_UNSUPPORTED, "ntdll's system-call stubs do not have the expected shape");
    h->page = alloc_near(process, (uint64_t)(uintptr_t)ntdll);
    if (!h->page)
        return ms__fail(MS_E_NO_MEMORY, "no room for the tracer's page within 1 GiB of ntdll in the target");
    h->handle_slot = h->page + PAGE;
    memset(h->code, 0xcc, sizeof h->code);
    emitter e = {h->code, 0, h->page};
    emit(&e, page_magic, sizeof page_magic);
    e.at = HANDLER_AT;
    emit_handler(&e, h->page);
    uint64_t handler = h->page + HANDLER_AT;
    e.at = INSTALLER_AT;
    h->installer = here(&e);
    emit_installer(&e, handler, (uint64_t)(uintptr_t)add_veh, h->handle_slot, false);
    e.at = INSTALLER_BP_AT;
    h->installer_bp = here(&e);
    emit_installer(&e, handler, (uint64_t)(uintptr_t)add_veh, h->handle_slot, true);
    h->installed_bp = here(&e) - 1;
    for (int fn = 0; fn < MS_WIN_FN_COUNT; fn++) {
        if (!h->usable[fn])
            continue;
        e.at = WRAPPERS_AT + (size_t)fn * WRAPPER_SIZE;
        emit_wrapper(&e, h, fn);
    }
    SIZE_T written = 0;
    DWORD old;
    if (!WriteProcessMemory(process, (LPVOID)(uintptr_t)h->page, h->code, PAGE, &written) || written != PAGE ||
        !VirtualProtectEx(process, (LPVOID)(uintptr_t)h->page, PAGE, PAGE_EXECUTE_READ, &old))
        return ms__win_fail(GetLastError(), "writing the tracer's page into the target");
    FlushInstructionCache(process, (LPCVOID)(uintptr_t)h->page, PAGE);
    return MS_OK;
}

static bool write_code(HANDLE process, uint64_t at, const void *bytes, size_t n)
{
    DWORD old, ignored;
    SIZE_T written = 0;
    if (!VirtualProtectEx(process, (LPVOID)(uintptr_t)at, n, PAGE_EXECUTE_READWRITE, &old))
        return false;
    bool ok = WriteProcessMemory(process, (LPVOID)(uintptr_t)at, bytes, n, &written) && written == n;
    VirtualProtectEx(process, (LPVOID)(uintptr_t)at, n, old, &ignored);
    FlushInstructionCache(process, (LPCVOID)(uintptr_t)at, n);
    return ok;
}

/* Moves a frozen thread whose Rip is at from to to. */
static void move_thread(HANDLE thread, uint64_t from, uint64_t to)
{
    CONTEXT ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ContextFlags = CONTEXT_CONTROL;
    if (GetThreadContext(thread, &ctx) && ctx.Rip == from) {
        ctx.Rip = to;
        SetThreadContext(thread, &ctx);
    }
}

ms_status ms__win_hooks_patch(HANDLE process, ms_win_hooks *h, const HANDLE *threads, size_t nthreads)
{
    for (int fn = 0; fn < MS_WIN_FN_COUNT; fn++) {
        if (!h->usable[fn] || h->patched[fn])
            continue;
        uint8_t jump[STUB_BYTES] = {0xe9, 0, 0, 0, 0, 0x90, 0x90, 0x90};
        int32_t rel = (int32_t)(int64_t)(h->page + WRAPPERS_AT + (uint64_t)fn * WRAPPER_SIZE - (h->stub[fn] + 5));
        memcpy(jump + 1, &rel, 4);
        /* A thread between mov r10, rcx and mov eax continues in the wrapper's copy of the second. */
        for (size_t i = 0; i < nthreads; i++)
            move_thread(threads[i], h->stub[fn] + 3, h->cont[fn] + 3);
        if (!write_code(process, h->stub[fn], jump, sizeof jump))
            return ms__win_fail(GetLastError(), "patching %s in the target", fn_names[fn]);
        h->patched[fn] = true;
    }
    return MS_OK;
}

void ms__win_hooks_unpatch(HANDLE process, ms_win_hooks *h, const HANDLE *threads, size_t nthreads)
{
    for (int fn = 0; fn < MS_WIN_FN_COUNT; fn++) {
        if (!h->patched[fn])
            continue;
        if (write_code(process, h->stub[fn], h->original[fn], STUB_BYTES)) {
            h->patched[fn] = false;
            /* Threads in the displaced instructions go back to the same place in the stub. */
            for (size_t i = 0; i < nthreads; i++) {
                move_thread(threads[i], h->cont[fn], h->stub[fn]);
                move_thread(threads[i], h->cont[fn] + 3, h->stub[fn] + 3);
                move_thread(threads[i], h->cont[fn] + 8, h->stub[fn] + 8);
            }
        }
    }
}

int ms__win_hooks_which(const ms_win_hooks *h, uint64_t addr, bool *is_exit)
{
    for (int fn = 0; fn < MS_WIN_FN_COUNT; fn++) {
        if (!h->usable[fn])
            continue;
        if (addr == h->entry_bp[fn] || addr == h->exit_bp[fn]) {
            *is_exit = addr == h->exit_bp[fn];
            return fn;
        }
    }
    return -1;
}
