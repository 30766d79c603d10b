/* The per-thread table of a trace run: open addressing on the tid, so the
 * lookup every stop needs stays one probe or two however many threads the
 * target has. */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(int32_t tid, size_t cap)
{
    return ((uint32_t)tid * 2654435761u) & (cap - 1);
}

ms__tracee *ms__tracees_find(ms__tracees *set, int32_t tid)
{
    if (!set->cap || tid <= 0)
        return NULL;
    for (size_t i = slot_of(tid, set->cap), n = 0; n < set->cap; i = (i + 1) & (set->cap - 1), n++) {
        if (set->slots[i].tid == tid)
            return &set->slots[i];
        if (set->slots[i].tid == 0)
            return NULL;
    }
    return NULL;
}

static ms__tracee *place(ms__tracee *slots, size_t cap, int32_t tid)
{
    size_t i = slot_of(tid, cap);
    while (slots[i].tid > 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Keeps the table at most half full, counting removed slots, so probes end fast. */
static bool grow(ms__tracees *set)
{
    size_t cap = set->cap ? set->cap : 16;
    while ((set->live + 1) * 2 > cap)
        cap *= 2;
    ms__tracee *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].tid > 0)
            *place(slots, cap, set->slots[i].tid) = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    set->used = set->live;
    return true;
}

ms__tracee *ms__tracees_add(ms__tracees *set, int32_t tid, int32_t pid)
{
    if ((set->used + 1) * 2 > set->cap && !grow(set))
        return NULL;
    ms__tracee *t = place(set->slots, set->cap, tid);
    if (t->tid == 0)
        set->used++;
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->pid = pid;
    set->live++;
    return t;
}

void ms__tracee_forget_snapshot(ms__tracee *t)
{
    for (uint32_t i = 0; i < t->before_count; i++)
        free(t->before[i].path);
    free(t->before);
    t->before = NULL;
    t->before_count = 0;
    t->before_known = false;
}

void ms__tracee_forget_before(ms__tracee *t)
{
    ms__tracee_forget_snapshot(t);
    free(t->fd_path);
    t->fd_path = NULL;
    t->pending = MS__PEND_NONE;
    t->args_decoded = false;
    t->fd_kind = 0;
    t->target_pid = 0;
    t->offset = 0;
    t->mem_opened = false;
}

void ms__tracees_remove(ms__tracees *set, ms__tracee *t)
{
    ms__tracee_forget_before(t);
    memset(t, 0, sizeof *t);
    t->tid = MS__TID_GONE;
    set->live--;
}

void ms__tracees_free(ms__tracees *set)
{
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].tid > 0)
            ms__tracee_forget_before(&set->slots[i]);
    free(set->slots);
    memset(set, 0, sizeof *set);
}
