/* Natives for the syscall tracer (ms_trace.h).
 *
 * The tracee waits while an event is upcalled, so the per-event path is
 * kept to one JNI call without arguments: the event's numbers are written
 * into a direct buffer Java handed over at the start of the run, and its
 * strings (syscall name, decoded prot and flags, errno name) are replaced by
 * small ids. A string is sent to Java once, the first time a run sees it;
 * Java keeps the id -> String table. Alerts are rare and carry their strings. */
#include "jni_internal.h"

#include <stdlib.h>
#include <string.h>

static jmethodID sink_event;
static jmethodID sink_alert;
static jmethodID sink_name;

/* Slots of the shared buffer, int64 each; NativeBridge.TraceSink lists the same. */
enum {
    SLOT_KIND, SLOT_TIME_NS, SLOT_PID, SLOT_TID, SLOT_NR, SLOT_ABI, SLOT_SYSCALL_ID,
    SLOT_ARG0, /* .. SLOT_ARG0 + 5 */
    SLOT_PROT_ID = SLOT_ARG0 + 6, SLOT_FLAGS_ID, SLOT_COMPLETE, SLOT_ERROR, SLOT_ERROR_NAME_ID, SLOT_RET,
    SLOT_SIGNAL, SLOT_EXIT_CODE,
    SLOT_ALERT_KIND, SLOT_ALERT_START, SLOT_ALERT_END, SLOT_ALERT_REGION_KIND, SLOT_ALERT_TARGET_PID,
    SLOT_COUNT
};

/* Distinct strings per run: a few dozen in practice (syscall names, prot and
 * flag combinations, errno names). Past NAME_MAX_IDS the table starts over and
 * Java's slots are overwritten, which stays correct because an event's ids
 * are all assigned after the reset. */
#define NAME_MAX_IDS 512
#define NAME_BUCKETS 1024 /* power of two, twice NAME_MAX_IDS */
#define NAMES_PER_EVENT 3

typedef struct name_entry {
    uint32_t hash;
    int32_t id; /* -1: empty bucket */
    char *text;
} name_entry;

typedef struct jni_trace {
    ms_trace *trace;
    /* Set for the duration of one attach or launch, on the tracing thread. */
    JNIEnv *env;
    jobject sink;
    jlong *slots;
    name_entry buckets[NAME_BUCKETS];
    int32_t names;
} jni_trace;

static void names_reset(jni_trace *t)
{
    for (size_t i = 0; i < NAME_BUCKETS; i++) {
        free(t->buckets[i].text);
        t->buckets[i].text = NULL;
        t->buckets[i].id = -1;
    }
    t->names = 0;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The id of s for Java: -1 for NULL or "", else its table id, sending the
 * string first when it is new. -2 when the upcall failed (exception pending). */
static int32_t name_id(jni_trace *t, const char *s)
{
    if (!s || !*s)
        return -1;
    uint32_t h = fnv1a(s);
    size_t i = h & (NAME_BUCKETS - 1);
    while (t->buckets[i].id >= 0) {
        if (t->buckets[i].hash == h && strcmp(t->buckets[i].text, s) == 0)
            return t->buckets[i].id;
        i = (i + 1) & (NAME_BUCKETS - 1);
    }
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (!copy)
        return -1; /* out of memory: Java shows the field empty rather than ending the trace */
    memcpy(copy, s, len + 1);
    JNIEnv *env = t->env;
    jbyteArray bytes = ms_jni_bytes(env, s, len);
    if (!bytes) {
        free(copy);
        return -2;
    }
    int32_t id = t->names++;
    (*env)->CallVoidMethod(env, t->sink, sink_name, (jint)id, bytes);
    (*env)->DeleteLocalRef(env, bytes);
    if ((*env)->ExceptionCheck(env)) {
        free(copy);
        return -2;
    }
    t->buckets[i] = (name_entry){h, id, copy};
    return id;
}

/* Writes an event into the slots. Non-zero when an upcall failed. */
static int put_event(jni_trace *t, const ms_trace_event *e)
{
    if (t->names + NAMES_PER_EVENT + 1 > NAME_MAX_IDS)
        names_reset(t);
    jlong *s = t->slots;
    s[SLOT_KIND] = e->kind;
    s[SLOT_TIME_NS] = e->time_ns;
    s[SLOT_PID] = e->pid;
    s[SLOT_TID] = e->tid;
    s[SLOT_NR] = e->nr;
    s[SLOT_ABI] = e->abi;
    for (int i = 0; i < 6; i++)
        s[SLOT_ARG0 + i] = (jlong)e->args[i];
    s[SLOT_COMPLETE] = e->complete;
    s[SLOT_ERROR] = e->error;
    s[SLOT_RET] = e->ret;
    s[SLOT_SIGNAL] = e->signal;
    s[SLOT_EXIT_CODE] = e->exit_code;
    if (e->kind != MS_TRACE_EV_SYSCALL) {
        s[SLOT_SYSCALL_ID] = s[SLOT_PROT_ID] = s[SLOT_FLAGS_ID] = s[SLOT_ERROR_NAME_ID] = -1;
        return 0;
    }
    /* Four strings, but at most NAMES_PER_EVENT are new in one event in
     * practice; the +1 above keeps the worst case (four new) in range too. */
    int32_t ids[4] = {name_id(t, e->syscall), name_id(t, e->prot), name_id(t, e->flags), name_id(t, e->error_name)};
    for (int i = 0; i < 4; i++)
        if (ids[i] == -2)
            return 1;
    s[SLOT_SYSCALL_ID] = ids[0];
    s[SLOT_PROT_ID] = ids[1];
    s[SLOT_FLAGS_ID] = ids[2];
    s[SLOT_ERROR_NAME_ID] = ids[3];
    return 0;
}

static int event_to_java(const ms_trace_event *e, void *user_data)
{
    jni_trace *t = user_data;
    JNIEnv *env = t->env;
    if ((*env)->ExceptionCheck(env) || put_event(t, e))
        return 1;
    jboolean more = (*env)->CallBooleanMethod(env, t->sink, sink_event);
    return (*env)->ExceptionCheck(env) || !more;
}

static int alert_to_java(const ms_trace_alert *a, void *user_data)
{
    jni_trace *t = user_data;
    JNIEnv *env = t->env;
    if ((*env)->ExceptionCheck(env) || !a->event || put_event(t, a->event))
        return 1;
    t->slots[SLOT_ALERT_KIND] = a->kind;
    t->slots[SLOT_ALERT_START] = (jlong)a->start;
    t->slots[SLOT_ALERT_END] = (jlong)a->end;
    t->slots[SLOT_ALERT_REGION_KIND] = a->region_kind;
    t->slots[SLOT_ALERT_TARGET_PID] = a->target_pid;
    jbyteArray before = ms_jni_cstr(env, a->perms_before);
    jbyteArray after = before ? ms_jni_cstr(env, a->perms_after) : NULL;
    jbyteArray path = after ? ms_jni_cstr(env, a->path) : NULL;
    jboolean more = JNI_FALSE;
    if (path)
        more = (*env)->CallBooleanMethod(env, t->sink, sink_alert, before, after, path);
    (*env)->DeleteLocalRef(env, before);
    (*env)->DeleteLocalRef(env, after);
    (*env)->DeleteLocalRef(env, path);
    return (*env)->ExceptionCheck(env) || !more;
}

static jni_trace *trace_of(jlong handle)
{
    return (jni_trace *)(intptr_t)handle;
}

/* A NUL-terminated copy of a byte[] (Java rejected NUL bytes inside); NULL
 * when out of memory. */
static char *cstring(JNIEnv *env, jbyteArray b)
{
    jsize len = b ? (*env)->GetArrayLength(env, b) : 0;
    char *out = malloc((size_t)len + 1);
    if (out) {
        if (b)
            (*env)->GetByteArrayRegion(env, b, 0, len, (jbyte *)out);
        out[len] = '\0';
    }
    return out;
}

/* cstring() of each element, with a NULL after the last; NULL when out of memory. */
static char **cstrings(JNIEnv *env, jobjectArray arrays)
{
    jsize n = arrays ? (*env)->GetArrayLength(env, arrays) : 0;
    char **out = calloc((size_t)n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (jsize i = 0; i < n; i++) {
        jbyteArray b = (*env)->GetObjectArrayElement(env, arrays, i);
        out[i] = cstring(env, b);
        (*env)->DeleteLocalRef(env, b);
        if (!out[i]) {
            for (jsize j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static void cstrings_free(char **s)
{
    for (char **p = s; p && *p; p++)
        free(*p);
    free(s);
}

static jint JNICALL n_trace_open(JNIEnv *env, jclass cls, jlong handle, jint flags, jlong duration_ms,
                                 jobjectArray extra, jlongArray trace_out)
{
    (void)cls;
    char **names = cstrings(env, extra);
    jni_trace *t = calloc(1, sizeof *t);
    if (!names || !t) {
        cstrings_free(names);
        free(t);
        return MS_E_NO_MEMORY;
    }
    for (size_t i = 0; i < NAME_BUCKETS; i++)
        t->buckets[i].id = -1;
    ms_trace_options o;
    ms_trace_options_init(&o);
    o.flags = (uint32_t)flags;
    o.duration_ms = duration_ms;
    o.extra_syscalls = (const char *const *)names;
    o.on_event = event_to_java;
    o.event_user = t;
    o.on_alert = alert_to_java;
    o.alert_user = t;
    ms_status st = ms_trace_open(ms_jni_handle_of(handle)->agent, &o, &t->trace);
    cstrings_free(names); /* the session copied them */
    if (st != MS_OK) {
        free(t);
        return st;
    }
    jlong out = (jlong)(intptr_t)t;
    (*env)->SetLongArrayRegion(env, trace_out, 0, 1, &out);
    return MS_OK;
}

static void JNICALL n_trace_close(JNIEnv *env, jclass cls, jlong trace)
{
    (void)env, (void)cls;
    jni_trace *t = trace_of(trace);
    if (!t)
        return;
    ms_trace_close(t->trace);
    names_reset(t);
    free(t);
}

static void JNICALL n_trace_stop(JNIEnv *env, jclass cls, jlong trace)
{
    (void)env, (void)cls;
    if (trace)
        ms_trace_stop(trace_of(trace)->trace);
}

/* summary[]: end, pid, duration_ns, syscalls, alerts, stops, signals, threads,
 * processes, seccomp, killed, exit_code, exit_signal. */
#define SUMMARY_FIELDS 13

static void summary_to_java(JNIEnv *env, const ms_trace_summary *s, jlongArray out)
{
    jlong v[SUMMARY_FIELDS] = {s->end,           s->pid,       s->duration_ns,    (jlong)s->syscalls,
                               (jlong)s->alerts, (jlong)s->stops, (jlong)s->signals, s->threads,
                               s->processes,     s->seccomp,   s->killed,         s->exit_code,
                               s->exit_signal};
    if (!(*env)->ExceptionCheck(env))
        (*env)->SetLongArrayRegion(env, out, 0, SUMMARY_FIELDS, v);
}

/* Binds the run to the calling thread's env and Java's sink and buffer. */
static ms_status run_begin(JNIEnv *env, jni_trace *t, jobject sink, jobject slots)
{
    jlong *mem = (*env)->GetDirectBufferAddress(env, slots);
    if (!mem || (*env)->GetDirectBufferCapacity(env, slots) < (jlong)(SLOT_COUNT * sizeof(jlong)))
        return MS_E_INVALID_ARGUMENT;
    names_reset(t);
    t->env = env;
    t->sink = sink;
    t->slots = mem;
    return MS_OK;
}

static void run_end(jni_trace *t)
{
    t->env = NULL;
    t->sink = NULL;
    t->slots = NULL;
}

static jint JNICALL n_trace_attach(JNIEnv *env, jclass cls, jlong trace, jlong pid, jobject sink, jobject slots,
                                   jlongArray summary_out)
{
    (void)cls;
    jni_trace *t = trace_of(trace);
    ms_status st = run_begin(env, t, sink, slots);
    if (st != MS_OK)
        return st;
    ms_trace_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    st = ms_trace_attach(t->trace, pid, &s);
    run_end(t);
    summary_to_java(env, &s, summary_out);
    return st;
}

static jint JNICALL n_trace_launch(JNIEnv *env, jclass cls, jlong trace, jobjectArray argv, jobject sink,
                                   jobject slots, jlongArray summary_out)
{
    (void)cls;
    jni_trace *t = trace_of(trace);
    char **args = cstrings(env, argv);
    if (!args)
        return MS_E_NO_MEMORY;
    ms_status st = run_begin(env, t, sink, slots);
    if (st == MS_OK) {
        ms_trace_summary s;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        st = ms_trace_launch(t->trace, (const char *const *)args, &s);
        run_end(t);
        summary_to_java(env, &s, summary_out);
    }
    cstrings_free(args);
    return st;
}

static jint JNICALL n_trace_syscall_number(JNIEnv *env, jclass cls, jbyteArray name)
{
    (void)cls;
    char *s = cstring(env, name);
    if (!s)
        return -1;
    int32_t nr = ms_trace_syscall_number(s);
    free(s);
    return nr;
}

static jstring JNICALL n_trace_end_name(JNIEnv *env, jclass cls, jint end)
{
    (void)cls;
    return (*env)->NewStringUTF(env, ms_trace_end_name(end));
}

jint ms_jni_register_trace(JNIEnv *env, jclass bridge)
{
    static const char sink_cls[] = "dev/memsentry/agent/NativeBridge$TraceSink";
    sink_event = ms_jni_method_of(env, sink_cls, "event", "()Z");
    sink_alert = ms_jni_method_of(env, sink_cls, "alert", "([B[B[B)Z");
    sink_name = ms_jni_method_of(env, sink_cls, "name", "(I[B)V");
    if (!sink_event || !sink_alert || !sink_name)
        return JNI_ERR;
    static const JNINativeMethod methods[] = {
        {"traceOpen", "(JIJ[[B[J)I", (void *)n_trace_open},
        {"traceClose", "(J)V", (void *)n_trace_close},
        {"traceStop", "(J)V", (void *)n_trace_stop},
        {"traceAttach", "(JJLdev/memsentry/agent/NativeBridge$TraceSink;Ljava/nio/ByteBuffer;[J)I",
         (void *)n_trace_attach},
        {"traceLaunch", "(J[[BLdev/memsentry/agent/NativeBridge$TraceSink;Ljava/nio/ByteBuffer;[J)I",
         (void *)n_trace_launch},
        {"traceSyscallNumber", "([B)I", (void *)n_trace_syscall_number},
        {"traceEndName", "(I)Ljava/lang/String;", (void *)n_trace_end_name},
    };
    return (*env)->RegisterNatives(env, bridge, methods, (jint)(sizeof methods / sizeof methods[0]));
}
