/* Natives for process events (ms_watch.h). An event crosses as one upcall
 * with its numbers as arguments; nothing is allocated per event. */
#include "jni_internal.h"

#include <string.h>

static jmethodID sink_event;

typedef struct run_ctx {
    JNIEnv *env;
    jobject sink;
} run_ctx;

static ms_watch *watch_of(jlong watch)
{
    return (ms_watch *)(intptr_t)watch;
}

static int event_to_java(const ms_proc_event *e, void *user_data)
{
    run_ctx *r = user_data;
    JNIEnv *env = r->env;
    jboolean more = (*env)->CallBooleanMethod(env, r->sink, sink_event, (jint)e->kind, (jlong)e->pid,
                                              (jlong)e->ppid, (jlong)e->tid, (jlong)e->time_ns, (jlong)e->lost,
                                              (jint)e->exit_code);
    return (*env)->ExceptionCheck(env) || !more;
}

static jint JNICALL n_watch_open(JNIEnv *env, jclass cls, jlong handle, jint source, jlong poll_ms, jint rcvbuf,
                                 jlongArray out)
{
    (void)cls;
    ms_watch_options o;
    ms_watch_options_init(&o);
    o.source = source;
    o.poll_interval_ms = poll_ms;
    o.receive_buffer = rcvbuf;
    ms_watch *w = NULL;
    ms_status st = ms_watch_open(ms_jni_handle_of(handle)->agent, &o, &w);
    if (st != MS_OK)
        return st;
    jlong v = (jlong)(intptr_t)w;
    (*env)->SetLongArrayRegion(env, out, 0, 1, &v);
    return MS_OK;
}

/* nums: source, reason, events, lost, malformed. Returns the detail. */
static jbyteArray JNICALL n_watch_info(JNIEnv *env, jclass cls, jlong watch, jlongArray nums)
{
    (void)cls;
    ms_watch_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if (ms_watch_info_get(watch_of(watch), &info) != MS_OK)
        return NULL;
    jlong v[5] = {info.source, info.reason, (jlong)info.events, (jlong)info.lost, (jlong)info.malformed};
    (*env)->SetLongArrayRegion(env, nums, 0, 5, v);
    return ms_jni_cstr(env, info.detail);
}

static jint JNICALL n_watch_run(JNIEnv *env, jclass cls, jlong watch, jobject sink)
{
    (void)cls;
    run_ctx r = {env, sink};
    return ms_watch_run(watch_of(watch), event_to_java, &r);
}

static void JNICALL n_watch_stop(JNIEnv *env, jclass cls, jlong watch)
{
    (void)env, (void)cls;
    ms_watch_stop(watch_of(watch));
}

static void JNICALL n_watch_close(JNIEnv *env, jclass cls, jlong watch)
{
    (void)env, (void)cls;
    ms_watch_close(watch_of(watch));
}

static jstring JNICALL n_watch_source_name(JNIEnv *env, jclass cls, jint source)
{
    (void)cls;
    return (*env)->NewStringUTF(env, ms_watch_source_name(source));
}

jint ms_jni_register_watch(JNIEnv *env, jclass bridge)
{
    sink_event = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$WatchSink", "event", "(IJJJJJI)Z");
    if (!sink_event)
        return JNI_ERR;
    static const JNINativeMethod methods[] = {
        {"watchOpen", "(JIJI[J)I", (void *)n_watch_open},
        {"watchInfo", "(J[J)[B", (void *)n_watch_info},
        {"watchRun", "(JLdev/memsentry/agent/NativeBridge$WatchSink;)I", (void *)n_watch_run},
        {"watchStop", "(J)V", (void *)n_watch_stop},
        {"watchClose", "(J)V", (void *)n_watch_close},
        {"watchSourceName", "(I)Ljava/lang/String;", (void *)n_watch_source_name},
    };
    return (*env)->RegisterNatives(env, bridge, methods, (jint)(sizeof methods / sizeof methods[0]));
}
