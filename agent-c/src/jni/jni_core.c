/* Natives for the foundation: handles, logging, processes, regions, reads. */
#include "jni_internal.h"

#include <stdlib.h>

/* Method ids cached at registration; the sink interfaces are loaded by the
 * same class loader as the bridge, so the ids stay valid for its lifetime. */
static jmethodID process_accept;
static jmethodID region_accept;
static jmethodID log_accept;

typedef struct callback_ctx {
    JNIEnv *env;
    jobject sink;
} callback_ctx;

static void log_to_java(int32_t level, const char *message, void *user_data)
{
    ms_jni_handle *h = user_data;
    JNIEnv *env;
    if (!h->log_sink || (*h->vm)->GetEnv(h->vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return;
    if ((*env)->ExceptionCheck(env))
        return;
    jbyteArray text = ms_jni_cstr(env, message);
    if (!text)
        return;
    (*env)->CallVoidMethod(env, h->log_sink, log_accept, (jint)level, text);
    (*env)->DeleteLocalRef(env, text);
}

static int process_to_java(const ms_process_info *p, void *user_data)
{
    callback_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    jbyteArray name = ms_jni_cstr(env, p->name);
    jbyteArray exe = name ? ms_jni_cstr(env, p->exe) : NULL;
    jbyteArray cmdline = exe ? ms_jni_bytes(env, p->cmdline, p->cmdline_len) : NULL;
    jboolean more = JNI_FALSE;
    if (cmdline)
        more = (*env)->CallBooleanMethod(env, ctx->sink, process_accept, (jlong)p->pid, (jlong)p->ppid,
                                         (jlong)p->uid, (jint)p->flags, name, exe, cmdline);
    (*env)->DeleteLocalRef(env, name);
    (*env)->DeleteLocalRef(env, exe);
    (*env)->DeleteLocalRef(env, cmdline);
    return (*env)->ExceptionCheck(env) || !more;
}

static int region_to_java(const ms_region *r, void *user_data)
{
    callback_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    jbyteArray path = ms_jni_cstr(env, r->path);
    if (!path)
        return 1;
    jboolean more = (*env)->CallBooleanMethod(env, ctx->sink, region_accept, (jlong)r->start, (jlong)r->end,
                                              (jlong)r->offset, (jlong)r->inode, (jint)r->dev_major,
                                              (jint)r->dev_minor, (jint)r->perms, (jint)r->kind, path);
    (*env)->DeleteLocalRef(env, path);
    return (*env)->ExceptionCheck(env) || !more;
}

static jint JNICALL n_version_number(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return ms_version_number();
}

static jstring JNICALL n_version(JNIEnv *env, jclass cls)
{
    (void)cls;
    return (*env)->NewStringUTF(env, ms_version());
}

static jstring JNICALL n_status_name(JNIEnv *env, jclass cls, jint status)
{
    (void)cls;
    return (*env)->NewStringUTF(env, ms_status_name((ms_status)status));
}

static jbyteArray JNICALL n_last_error(JNIEnv *env, jclass cls)
{
    (void)cls;
    return ms_jni_cstr(env, ms_last_error());
}

static jint JNICALL n_open(JNIEnv *env, jclass cls, jlongArray out)
{
    (void)cls;
    ms_jni_handle *h = calloc(1, sizeof *h);
    if (!h)
        return MS_E_NO_MEMORY;
    if ((*env)->GetJavaVM(env, &h->vm) != JNI_OK) {
        free(h);
        return MS_E_INTERNAL;
    }
    ms_status st = ms_agent_open(&h->agent);
    if (st != MS_OK) {
        free(h);
        return st;
    }
    jlong value = (jlong)(intptr_t)h;
    (*env)->SetLongArrayRegion(env, out, 0, 1, &value);
    return MS_OK;
}

static void JNICALL n_close(JNIEnv *env, jclass cls, jlong handle)
{
    (void)cls;
    ms_jni_handle *h = ms_jni_handle_of(handle);
    if (!h)
        return;
    ms_agent_close(h->agent);
    if (h->log_sink)
        (*env)->DeleteGlobalRef(env, h->log_sink);
    free(h);
}

static jint JNICALL n_set_log(JNIEnv *env, jclass cls, jlong handle, jobject sink, jint min_level)
{
    (void)cls;
    ms_jni_handle *h = ms_jni_handle_of(handle);
    jobject ref = sink ? (*env)->NewGlobalRef(env, sink) : NULL;
    if (sink && !ref)
        return MS_E_NO_MEMORY;
    ms_status st = ms_agent_set_log(h->agent, ref ? log_to_java : NULL, h, min_level);
    if (st != MS_OK) {
        if (ref)
            (*env)->DeleteGlobalRef(env, ref);
        return st;
    }
    if (h->log_sink)
        (*env)->DeleteGlobalRef(env, h->log_sink);
    h->log_sink = ref;
    return MS_OK;
}

static jint JNICALL n_list_processes(JNIEnv *env, jclass cls, jlong handle, jobject sink)
{
    (void)cls;
    callback_ctx ctx = {env, sink};
    return ms_process_list(ms_jni_handle_of(handle)->agent, process_to_java, &ctx);
}

static jint JNICALL n_get_process(JNIEnv *env, jclass cls, jlong handle, jlong pid, jobject sink)
{
    (void)cls;
    callback_ctx ctx = {env, sink};
    return ms_process_get(ms_jni_handle_of(handle)->agent, pid, process_to_java, &ctx);
}

static jint JNICALL n_list_regions(JNIEnv *env, jclass cls, jlong handle, jlong pid, jobject sink)
{
    (void)cls;
    callback_ctx ctx = {env, sink};
    return ms_region_list(ms_jni_handle_of(handle)->agent, pid, region_to_java, &ctx);
}

static jint JNICALL n_read_memory(JNIEnv *env, jclass cls, jlong handle, jlong pid, jlong addr, jbyteArray buf,
                                  jint off, jint len, jlongArray read_out)
{
    (void)cls;
    /* Bounds were checked in Java; bounded diagnostic reads only. */
    void *tmp = malloc(len > 0 ? (size_t)len : 1);
    if (!tmp)
        return MS_E_NO_MEMORY;
    size_t got = 0;
    ms_status st = ms_memory_read(ms_jni_handle_of(handle)->agent, pid, (uint64_t)addr, tmp, (size_t)len, &got);
    if (got)
        (*env)->SetByteArrayRegion(env, buf, off, (jsize)got, tmp);
    free(tmp);
    jlong value = (jlong)got;
    (*env)->SetLongArrayRegion(env, read_out, 0, 1, &value);
    return st;
}

jint ms_jni_register_core(JNIEnv *env, jclass bridge)
{
    process_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$ProcessSink", "accept", "(JJJI[B[B[B)Z");
    region_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$RegionSink", "accept", "(JJJJIIII[B)Z");
    log_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$LogSink", "log", "(I[B)V");
    if (!process_accept || !region_accept || !log_accept)
        return JNI_ERR;
    static const JNINativeMethod methods[] = {
        {"versionNumber", "()I", (void *)n_version_number},
        {"version", "()Ljava/lang/String;", (void *)n_version},
        {"statusName", "(I)Ljava/lang/String;", (void *)n_status_name},
        {"lastError", "()[B", (void *)n_last_error},
        {"open", "([J)I", (void *)n_open},
        {"close", "(J)V", (void *)n_close},
        {"setLog", "(JLdev/memsentry/agent/NativeBridge$LogSink;I)I", (void *)n_set_log},
        {"listProcesses", "(JLdev/memsentry/agent/NativeBridge$ProcessSink;)I", (void *)n_list_processes},
        {"getProcess", "(JJLdev/memsentry/agent/NativeBridge$ProcessSink;)I", (void *)n_get_process},
        {"listRegions", "(JJLdev/memsentry/agent/NativeBridge$RegionSink;)I", (void *)n_list_regions},
        {"readMemory", "(JJJ[BII[J)I", (void *)n_read_memory},
    };
    return (*env)->RegisterNatives(env, bridge, methods, (jint)(sizeof methods / sizeof methods[0]));
}
