/* Natives for YARA (dev.memsentry.detect.yara.YaraNative): rules, scanners,
 * scans. Translation only; the engine is common/yara.c. */
#include "jni_internal.h"

#include <stdlib.h>
#include <string.h>

#define MS_JNI_YARA_CLASS "dev/memsentry/detect/yara/YaraNative"

static jmethodID diagnostic_accept;
static jmethodID match_accept;
static jclass byte_array_class; /* global ref to byte[] */

/* A NUL-terminated copy of a Java byte[] (paths, names), or NULL with an exception pending. */
static char *cstr_of(JNIEnv *env, jbyteArray bytes)
{
    jsize len = (*env)->GetArrayLength(env, bytes);
    char *s = malloc((size_t)len + 1);
    if (!s) {
        jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
        if (oom)
            (*env)->ThrowNew(env, oom, "memsentry: path copy");
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, bytes, 0, len, (jbyte *)s);
    s[len] = '\0';
    return s;
}

static void put_handle(JNIEnv *env, jlongArray out, const void *p)
{
    jlong value = (jlong)(intptr_t)p;
    (*env)->SetLongArrayRegion(env, out, 0, 1, &value);
}

static jint JNICALL n_available(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return ms_yara_available();
}

static jbyteArray JNICALL n_describe(JNIEnv *env, jclass cls)
{
    (void)cls;
    return ms_jni_cstr(env, ms_yara_describe());
}

static jbyteArray JNICALL n_last_error(JNIEnv *env, jclass cls)
{
    (void)cls;
    return ms_jni_cstr(env, ms_last_error());
}

typedef struct diag_ctx {
    JNIEnv *env;
    jobject sink;
} diag_ctx;

static int diagnostic_to_java(const ms_yara_diagnostic *d, void *user_data)
{
    diag_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    if (!ctx->sink || (*env)->ExceptionCheck(env))
        return 0;
    jbyteArray file = ms_jni_cstr(env, d->file);
    jbyteArray message = file ? ms_jni_cstr(env, d->message) : NULL;
    if (message)
        (*env)->CallVoidMethod(env, ctx->sink, diagnostic_accept, (jint)d->level, file, (jint)d->line, message);
    (*env)->DeleteLocalRef(env, file);
    (*env)->DeleteLocalRef(env, message);
    return 0;
}

static jint JNICALL n_compile(JNIEnv *env, jclass cls, jlong handle, jbyteArray path, jbyteArray ns,
                              jboolean allow_compiled, jobject sink, jlongArray out)
{
    (void)cls;
    char *p = cstr_of(env, path);
    char *n = p && ns ? cstr_of(env, ns) : NULL;
    if (!p || (ns && !n)) {
        free(p);
        return MS_E_NO_MEMORY;
    }
    diag_ctx ctx = {env, sink};
    ms_yara_compile_options o = {.struct_size = sizeof o, .rules_namespace = n, .on_diagnostic = diagnostic_to_java,
                                 .user_data = &ctx, .flags = allow_compiled ? MS_YARA_COMPILE_ALLOW_COMPILED : 0};
    ms_yara_rules *rules = NULL;
    ms_status st = ms_yara_rules_compile(ms_jni_handle_of(handle)->agent, p, &o, &rules);
    free(p);
    free(n);
    if (st == MS_OK && (*env)->ExceptionCheck(env)) {
        ms_yara_rules_close(rules); /* the diagnostic sink threw: Java never sees these rules */
        return MS_E_STOPPED;
    }
    if (st == MS_OK)
        put_handle(env, out, rules);
    return st;
}

static jint JNICALL n_load(JNIEnv *env, jclass cls, jlong handle, jbyteArray path, jlongArray out)
{
    (void)cls;
    char *p = cstr_of(env, path);
    if (!p)
        return MS_E_NO_MEMORY;
    ms_yara_rules *rules = NULL;
    ms_status st = ms_yara_rules_load(ms_jni_handle_of(handle)->agent, p, &rules);
    free(p);
    if (st == MS_OK)
        put_handle(env, out, rules);
    return st;
}

static void JNICALL n_close_rules(JNIEnv *env, jclass cls, jlong rules)
{
    (void)env, (void)cls;
    ms_yara_rules_close((ms_yara_rules *)(intptr_t)rules);
}

static jint JNICALL n_rule_count(JNIEnv *env, jclass cls, jlong rules, jintArray out)
{
    (void)cls;
    uint32_t count = 0;
    ms_status st = ms_yara_rules_count((const ms_yara_rules *)(intptr_t)rules, &count);
    jint value = (jint)count;
    (*env)->SetIntArrayRegion(env, out, 0, 1, &value);
    return st;
}

static jint JNICALL n_open_scanner(JNIEnv *env, jclass cls, jlong rules, jlongArray out)
{
    (void)cls;
    ms_yara_scanner *s = NULL;
    ms_status st = ms_yara_scanner_open((ms_yara_rules *)(intptr_t)rules, &s);
    if (st == MS_OK)
        put_handle(env, out, s);
    return st;
}

static void JNICALL n_close_scanner(JNIEnv *env, jclass cls, jlong scanner)
{
    (void)env, (void)cls;
    ms_yara_scanner_close((ms_yara_scanner *)(intptr_t)scanner);
}

typedef struct match_ctx {
    JNIEnv *env;
    jobject sink;
} match_ctx;

/* byte[][] of n C strings, or NULL with an exception pending. */
static jobjectArray cstr_array(JNIEnv *env, size_t n, const char *(*get)(const void *, size_t), const void *arg)
{
    jobjectArray arr = (*env)->NewObjectArray(env, (jsize)n, byte_array_class, NULL);
    for (size_t i = 0; arr && i < n; i++) {
        jbyteArray b = ms_jni_cstr(env, get(arg, i));
        if (!b)
            return NULL;
        (*env)->SetObjectArrayElement(env, arr, (jsize)i, b);
        (*env)->DeleteLocalRef(env, b);
    }
    return arr;
}

static const char *tag_at(const void *m, size_t i)
{
    return ((const ms_yara_match *)m)->tags[i];
}

static const char *meta_id_at(const void *m, size_t i)
{
    return ((const ms_yara_match *)m)->metas[i].identifier;
}

static const char *meta_string_at(const void *m, size_t i)
{
    return ((const ms_yara_match *)m)->metas[i].string;
}

static const char *string_id_at(const void *m, size_t i)
{
    return ((const ms_yara_match *)m)->strings[i].identifier;
}

static int match_to_java(const ms_yara_match *m, void *user_data)
{
    match_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    if ((*env)->PushLocalFrame(env, 32) != 0)
        return 1;
    jboolean more = JNI_FALSE;
    jbyteArray rule = ms_jni_cstr(env, m->rule);
    jbyteArray ns = rule ? ms_jni_cstr(env, m->rule_namespace) : NULL;
    jobjectArray tags = ns ? cstr_array(env, m->tag_count, tag_at, m) : NULL;
    jobjectArray meta_ids = tags ? cstr_array(env, m->meta_count, meta_id_at, m) : NULL;
    jobjectArray meta_strings = meta_ids ? cstr_array(env, m->meta_count, meta_string_at, m) : NULL;
    jintArray meta_types = meta_strings ? (*env)->NewIntArray(env, (jsize)m->meta_count) : NULL;
    jlongArray meta_ints = meta_types ? (*env)->NewLongArray(env, (jsize)m->meta_count) : NULL;
    jobjectArray string_ids = meta_ints ? cstr_array(env, m->string_count, string_id_at, m) : NULL;
    jlongArray addresses = string_ids ? (*env)->NewLongArray(env, (jsize)m->string_count) : NULL;
    jintArray lengths = addresses ? (*env)->NewIntArray(env, (jsize)m->string_count) : NULL;
    jobjectArray data = lengths ? (*env)->NewObjectArray(env, (jsize)m->string_count, byte_array_class, NULL) : NULL;
    if (!data)
        goto done;
    for (uint32_t i = 0; i < m->meta_count; i++) {
        jint type = m->metas[i].type;
        jlong value = m->metas[i].integer;
        (*env)->SetIntArrayRegion(env, meta_types, (jsize)i, 1, &type);
        (*env)->SetLongArrayRegion(env, meta_ints, (jsize)i, 1, &value);
    }
    for (uint32_t i = 0; i < m->string_count; i++) {
        jlong addr = (jlong)m->strings[i].address;
        jint len = (jint)m->strings[i].length;
        (*env)->SetLongArrayRegion(env, addresses, (jsize)i, 1, &addr);
        (*env)->SetIntArrayRegion(env, lengths, (jsize)i, 1, &len);
        jbyteArray bytes = ms_jni_bytes(env, m->strings[i].data, m->strings[i].data_length);
        if (!bytes)
            goto done;
        (*env)->SetObjectArrayElement(env, data, (jsize)i, bytes);
        (*env)->DeleteLocalRef(env, bytes);
    }
    more = (*env)->CallBooleanMethod(env, ctx->sink, match_accept, (jlong)m->pid, rule, ns, tags, meta_ids, meta_types,
                                     meta_ints, meta_strings, string_ids, addresses, lengths, data,
                                     (jint)m->string_total);
done:
    (*env)->PopLocalFrame(env, NULL);
    return (*env)->ExceptionCheck(env) || !more;
}

static jint JNICALL n_scan(JNIEnv *env, jclass cls, jlong scanner, jlong pid, jint timeout_seconds,
                           jlong max_block_size, jint max_string_matches, jint flags, jobject cancel_buffer, jobject sink,
                           jlongArray stats_out)
{
    (void)cls;
    const volatile int32_t *cancel = NULL;
    if (cancel_buffer) {
        cancel = (*env)->GetDirectBufferAddress(env, cancel_buffer);
        if (!cancel || (*env)->GetDirectBufferCapacity(env, cancel_buffer) < 4)
            return MS_E_INVALID_ARGUMENT;
    }
    ms_yara_scan_options o = {.struct_size = sizeof o,
                              .timeout_seconds = timeout_seconds > 0 ? (uint32_t)timeout_seconds : 0,
                              .max_block_size = max_block_size > 0 ? (uint64_t)max_block_size : 0,
                              .max_string_matches = max_string_matches > 0 ? (uint32_t)max_string_matches : 0,
                              .flags = (uint32_t)flags,
                              .cancel = cancel};
    ms_yara_scan_stats stats = {.struct_size = sizeof stats};
    match_ctx ctx = {env, sink};
    ms_status st = ms_yara_scan_process((ms_yara_scanner *)(intptr_t)scanner, pid, &o, match_to_java, &ctx, &stats);
    jlong values[] = {stats.rules_matched,         (jlong)stats.regions,       (jlong)stats.blocks,
                      (jlong)stats.blocks_skipped,  (jlong)stats.bytes_scanned, (jlong)stats.bytes_read,
                      (jlong)stats.bytes_from_file, (jlong)stats.bytes_zero,    (jlong)stats.block_fetches,
                      (jlong)stats.elapsed_ns};
    if ((*env)->ExceptionCheck(env))
        return st; /* the match sink threw; it propagates when this native returns */
    jsize n = (*env)->GetArrayLength(env, stats_out);
    jsize want = (jsize)(sizeof values / sizeof values[0]);
    (*env)->SetLongArrayRegion(env, stats_out, 0, n < want ? n : want, values);
    return st;
}

jint ms_jni_register_yara(JNIEnv *env, jclass bridge)
{
    (void)bridge; /* the YARA natives live on their own class, next to their Java API */
    jclass natives = (*env)->FindClass(env, MS_JNI_YARA_CLASS);
    if (!natives)
        return JNI_ERR;
    diagnostic_accept = ms_jni_method_of(env, MS_JNI_YARA_CLASS "$DiagnosticSink", "accept", "(I[BI[B)V");
    match_accept = ms_jni_method_of(env, MS_JNI_YARA_CLASS "$MatchSink", "accept", "(J[B[B[[B[[B[I[J[[B[[B[J[I[[BI)Z");
    jclass bytes = (*env)->FindClass(env, "[B");
    byte_array_class = bytes ? (*env)->NewGlobalRef(env, bytes) : NULL;
    if (!diagnostic_accept || !match_accept || !byte_array_class)
        return JNI_ERR;
    static const JNINativeMethod methods[] = {
        {"available", "()I", (void *)n_available},
        {"describe", "()[B", (void *)n_describe},
        {"lastError", "()[B", (void *)n_last_error},
        {"compile", "(J[B[BZ" "L" MS_JNI_YARA_CLASS "$DiagnosticSink;[J)I", (void *)n_compile},
        {"load", "(J[B[J)I", (void *)n_load},
        {"closeRules", "(J)V", (void *)n_close_rules},
        {"ruleCount", "(J[I)I", (void *)n_rule_count},
        {"openScanner", "(J[J)I", (void *)n_open_scanner},
        {"closeScanner", "(J)V", (void *)n_close_scanner},
        {"scan", "(JJIJIILjava/nio/ByteBuffer;L" MS_JNI_YARA_CLASS "$MatchSink;[J)I", (void *)n_scan},
    };
    jint rc = (*env)->RegisterNatives(env, natives, methods, (jint)(sizeof methods / sizeof methods[0]));
    (*env)->DeleteLocalRef(env, natives);
    (*env)->DeleteLocalRef(env, bytes);
    return rc;
}
