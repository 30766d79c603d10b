/* Natives for process dumps (ms_dump.h). The dump's bytes go from the target
 * to the file inside the library; only progress and per-region facts cross
 * into Java. */
#include "jni_internal.h"

#include <stdlib.h>
#include <string.h>

static jmethodID progress_accept;
static jmethodID region_accept;

typedef struct dump_ctx {
    JNIEnv *env;
    jobject progress;
    jobject regions;
} dump_ctx;

static int progress_to_java(uint64_t done, uint64_t total, void *user_data)
{
    dump_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    jboolean more = (*env)->CallBooleanMethod(env, ctx->progress, progress_accept, (jlong)done, (jlong)total);
    return (*env)->ExceptionCheck(env) || !more;
}

static int region_to_java(const ms_dump_region *d, void *user_data)
{
    dump_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    if ((*env)->ExceptionCheck(env))
        return 1;
    jbyteArray path = ms_jni_cstr(env, d->region->path);
    jbyteArray reason = path ? ms_jni_cstr(env, d->reason) : NULL;
    jstring sha = reason && d->sha256 ? (*env)->NewStringUTF(env, d->sha256) : NULL;
    jboolean more = JNI_FALSE;
    if (reason && (sha || !d->sha256))
        more = (*env)->CallBooleanMethod(env, ctx->regions, region_accept, (jlong)d->region->start,
                                         (jlong)d->region->end, (jint)d->region->perms, (jint)d->region->kind, path,
                                         (jlong)d->file_offset, (jlong)d->length, (jlong)d->bytes_read,
                                         (jlong)d->bytes_from_file, (jlong)d->bytes_hole, (jlong)d->bytes_unreadable,
                                         (jint)d->status, reason, sha);
    (*env)->DeleteLocalRef(env, path);
    (*env)->DeleteLocalRef(env, reason);
    (*env)->DeleteLocalRef(env, sha);
    return (*env)->ExceptionCheck(env) || !more;
}

/* limits[]: max_region_size, max_total_size, skip_nonexec_over, threads.
 * result[]: threads, frozen, regions, dumped, truncated, partial, skipped,
 * bytes_dumped, bytes_read, bytes_from_file, bytes_hole, bytes_unreadable,
 * file_size. */
#define RESULT_FIELDS 13

static jint JNICALL n_dump(JNIEnv *env, jclass cls, jlong handle, jlong pid, jbyteArray path, jint format,
                           jint flags, jlongArray limits, jlong cancel, jobject progress, jobject regions,
                           jlongArray result_out)
{
    (void)cls;
    jsize len = (*env)->GetArrayLength(env, path);
    char *cpath = malloc((size_t)len + 1);
    if (!cpath)
        return MS_E_NO_MEMORY;
    (*env)->GetByteArrayRegion(env, path, 0, len, (jbyte *)cpath);
    cpath[len] = '\0';
    jlong lim[4];
    (*env)->GetLongArrayRegion(env, limits, 0, 4, lim);

    ms_dump_options o;
    ms_dump_options_init(&o);
    o.format = format;
    o.flags = (uint32_t)flags;
    o.max_region_size = (uint64_t)lim[0];
    o.max_total_size = (uint64_t)lim[1];
    o.skip_nonexec_over = (uint64_t)lim[2];
    o.threads = (uint32_t)lim[3]; /* 0..64, checked in Java and in C */
    dump_ctx ctx = {env, progress, regions};
    if (progress) {
        o.progress = progress_to_java;
        o.progress_user = &ctx;
    }
    if (regions) {
        o.on_region = region_to_java;
        o.region_user = &ctx;
    }
    o.cancel = (const volatile int32_t *)(intptr_t)cancel;
    ms_dump_result r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    ms_status st = ms_dump_process(ms_jni_handle_of(handle)->agent, pid, cpath, &o, &r);
    free(cpath);
    jlong out[RESULT_FIELDS] = {r.threads,          r.frozen,          r.regions,    r.regions_dumped,
                                r.regions_truncated, r.regions_partial, r.regions_skipped,
                                (jlong)r.bytes_dumped, (jlong)r.bytes_read, (jlong)r.bytes_from_file,
                                (jlong)r.bytes_hole, (jlong)r.bytes_unreadable, (jlong)r.file_size};
    if (!(*env)->ExceptionCheck(env))
        (*env)->SetLongArrayRegion(env, result_out, 0, RESULT_FIELDS, out);
    return st;
}

/* A cancel flag in native memory, set from any thread (a shutdown hook) and
 * read by the dump between chunks. */
static jlong JNICALL n_cancel_new(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return (jlong)(intptr_t)calloc(1, sizeof(int32_t));
}

static void JNICALL n_cancel_set(JNIEnv *env, jclass cls, jlong token)
{
    (void)env, (void)cls;
    if (token)
        __atomic_store_n((int32_t *)(intptr_t)token, 1, __ATOMIC_SEQ_CST);
}

static void JNICALL n_cancel_free(JNIEnv *env, jclass cls, jlong token)
{
    (void)env, (void)cls;
    free((void *)(intptr_t)token);
}

jint ms_jni_register_dump(JNIEnv *env, jclass bridge)
{
    progress_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$DumpProgressSink", "progress", "(JJ)Z");
    region_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$DumpRegionSink", "region",
                              "(JJII[BJJJJJJI[BLjava/lang/String;)Z");
    if (!progress_accept || !region_accept)
        return JNI_ERR;
    static const JNINativeMethod methods[] = {
        {"dump",
         "(JJ[BII[JJLdev/memsentry/agent/NativeBridge$DumpProgressSink;Ldev/memsentry/agent/NativeBridge$DumpRegionSink;[J)I",
         (void *)n_dump},
        {"cancelNew", "()J", (void *)n_cancel_new},
        {"cancelSet", "(J)V", (void *)n_cancel_set},
        {"cancelFree", "(J)V", (void *)n_cancel_free},
    };
    return (*env)->RegisterNatives(env, bridge, methods, (jint)(sizeof methods / sizeof methods[0]));
}
