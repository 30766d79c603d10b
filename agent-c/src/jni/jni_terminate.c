/* Natives for termination and the protected list (ms_terminate.h). */
#include "jni_internal.h"

#include <stdlib.h>
#include <string.h>

static jmethodID report_accept;
static jmethodID protection_accept;
static jmethodID entry_accept;

typedef struct entry_ctx {
    JNIEnv *env;
    jobject sink;
} entry_ctx;

/* pidfd >= 0: through that pin (ms_terminate_pidfd), pid unused; otherwise by pid. */
static jint JNICALL n_terminate(JNIEnv *env, jclass cls, jlong handle, jlong pid, jint pidfd, jint grace_ms,
                                jboolean dry_run, jobject sink)
{
    (void)cls;
    ms_terminate_options opts = MS_TERMINATE_OPTIONS_INIT;
    opts.grace_ms = (uint32_t)grace_ms; /* range checked in Java and again in C */
    opts.dry_run = dry_run ? 1u : 0u;
    ms_terminate_report report;
    memset(&report, 0, sizeof report);
    report.struct_size = sizeof report;
    report.result = -1; /* still -1 afterwards: the report was not filled */
    ms_agent *agent = ms_jni_handle_of(handle)->agent;
    ms_status st = pidfd >= 0 ? ms_terminate_pidfd(agent, pidfd, &opts, &report)
                              : ms_terminate(agent, pid, &opts, &report);
    if (report.result < 0)
        return st;
    jint sent[MS_TERMINATE_MAX_SIGNALS];
    jsize count = report.signal_count < MS_TERMINATE_MAX_SIGNALS ? (jsize)report.signal_count
                                                                 : MS_TERMINATE_MAX_SIGNALS;
    for (jsize i = 0; i < count; i++)
        sent[i] = (jint)report.signals[i];
    jintArray signals = (*env)->NewIntArray(env, count);
    if (!signals)
        return st;
    (*env)->SetIntArrayRegion(env, signals, 0, count, sent);
    jbyteArray reason = ms_jni_cstr(env, report.reason);
    if (reason)
        (*env)->CallVoidMethod(env, sink, report_accept, (jint)st, (jlong)report.pid, (jint)report.result,
                               (jint)report.protection, signals, (jlong)report.elapsed_ms, reason);
    (*env)->DeleteLocalRef(env, signals);
    (*env)->DeleteLocalRef(env, reason);
    return st;
}

static jint JNICALL n_pidfd_open(JNIEnv *env, jclass cls, jlong pid, jintArray out)
{
    (void)cls;
    int32_t fd = -1;
    ms_status st = ms_pidfd_open(pid, &fd);
    if (st == MS_OK) {
        jint v = fd;
        (*env)->SetIntArrayRegion(env, out, 0, 1, &v);
        if ((*env)->ExceptionCheck(env)) {
            ms_pidfd_close(fd);
            return MS_E_INVALID_ARGUMENT;
        }
    }
    return st;
}

static void JNICALL n_pidfd_close(JNIEnv *env, jclass cls, jint pidfd)
{
    (void)env, (void)cls;
    ms_pidfd_close(pidfd);
}

static jint JNICALL n_protect_check(JNIEnv *env, jclass cls, jlong handle, jlong pid, jobject sink)
{
    (void)cls;
    int32_t reason = MS_PROTECT_NONE;
    char detail[256];
    ms_status st = ms_protect_check(ms_jni_handle_of(handle)->agent, pid, &reason, detail, sizeof detail);
    if (st != MS_OK)
        return st;
    jbyteArray text = ms_jni_cstr(env, detail);
    if (text)
        (*env)->CallVoidMethod(env, sink, protection_accept, (jint)reason, text);
    (*env)->DeleteLocalRef(env, text);
    return st;
}

static jint JNICALL n_protect_add(JNIEnv *env, jclass cls, jlong handle, jbyteArray entry)
{
    (void)cls;
    /* Java rejected NUL bytes; the copy adds the terminator. */
    jsize len = (*env)->GetArrayLength(env, entry);
    char *copy = malloc((size_t)len + 1);
    if (!copy)
        return MS_E_NO_MEMORY;
    (*env)->GetByteArrayRegion(env, entry, 0, len, (jbyte *)copy);
    copy[len] = '\0';
    ms_status st = ms_protect_add(ms_jni_handle_of(handle)->agent, copy);
    free(copy);
    return st;
}

static jint JNICALL n_protect_clear(JNIEnv *env, jclass cls, jlong handle)
{
    (void)env, (void)cls;
    return ms_protect_clear(ms_jni_handle_of(handle)->agent);
}

static jint JNICALL n_protect_add_defaults(JNIEnv *env, jclass cls, jlong handle)
{
    (void)env, (void)cls;
    return ms_protect_add_defaults(ms_jni_handle_of(handle)->agent);
}

static int entry_to_java(const char *entry, int32_t is_path, void *user_data)
{
    entry_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    jbyteArray text = ms_jni_cstr(env, entry);
    if (!text)
        return 1;
    (*env)->CallVoidMethod(env, ctx->sink, entry_accept, text, (jboolean)(is_path != 0));
    (*env)->DeleteLocalRef(env, text);
    return (*env)->ExceptionCheck(env) ? 1 : 0;
}

static jint JNICALL n_protect_list(JNIEnv *env, jclass cls, jlong handle, jobject sink)
{
    (void)cls;
    entry_ctx ctx = {env, sink};
    return ms_protect_list(ms_jni_handle_of(handle)->agent, entry_to_java, &ctx);
}

jint ms_jni_register_terminate(JNIEnv *env, jclass bridge)
{
    report_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$TerminateSink", "accept", "(IJII[IJ[B)V");
    protection_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$ProtectionSink", "accept", "(I[B)V");
    entry_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$ProtectedEntrySink", "accept", "([BZ)V");
    if (!report_accept || !protection_accept || !entry_accept)
        return JNI_ERR;
    static const JNINativeMethod methods[] = {
        {"terminate", "(JJIIZLdev/memsentry/agent/NativeBridge$TerminateSink;)I", (void *)n_terminate},
        {"pidfdOpen", "(J[I)I", (void *)n_pidfd_open},
        {"pidfdClose", "(I)V", (void *)n_pidfd_close},
        {"protectCheck", "(JJLdev/memsentry/agent/NativeBridge$ProtectionSink;)I", (void *)n_protect_check},
        {"protectAdd", "(J[B)I", (void *)n_protect_add},
        {"protectClear", "(J)I", (void *)n_protect_clear},
        {"protectAddDefaults", "(J)I", (void *)n_protect_add_defaults},
        {"protectList", "(JLdev/memsentry/agent/NativeBridge$ProtectedEntrySink;)I", (void *)n_protect_list},
    };
    return (*env)->RegisterNatives(env, bridge, methods, (jint)(sizeof methods / sizeof methods[0]));
}
