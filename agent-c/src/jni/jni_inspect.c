/* Natives for ms_inspect.h: region probe, code comparison, threads, process
 * facts. Regions cross as their fields (plus the path as bytes); results
 * come back through long[] out-arrays and sink callbacks. Only the probe's
 * 16-byte excerpt and the diff samples carry target bytes. */
#include "jni_internal.h"

#include <stdlib.h>
#include <string.h>

static jmethodID diff_accept;
static jmethodID thread_accept;
static jmethodID module_accept;

typedef struct sink_ctx {
    JNIEnv *env;
    jobject sink;
} sink_ctx;

/* Builds an ms_region from the Java fields; path is copied into *path_out
 * (caller frees). Returns MS_OK or MS_E_NO_MEMORY. */
static ms_status region_from_java(JNIEnv *env, jlong start, jlong end, jlong offset, jlong inode, jint dev_major,
                                  jint dev_minor, jint perms, jint kind, jbyteArray path, ms_region *out,
                                  char **path_out)
{
    jsize len = path ? (*env)->GetArrayLength(env, path) : 0;
    char *p = malloc((size_t)len + 1);
    if (!p)
        return MS_E_NO_MEMORY;
    if (len)
        (*env)->GetByteArrayRegion(env, path, 0, len, (jbyte *)p);
    p[len] = '\0';
    memset(out, 0, sizeof *out);
    out->start = (uint64_t)start;
    out->end = (uint64_t)end;
    out->offset = (uint64_t)offset;
    out->inode = (uint64_t)inode;
    out->dev_major = (uint32_t)dev_major;
    out->dev_minor = (uint32_t)dev_minor;
    out->perms = (uint32_t)perms;
    out->kind = kind;
    out->path = p;
    *path_out = p;
    return MS_OK;
}

static void put_longs(JNIEnv *env, jlongArray out, const jlong *values, jsize n)
{
    if (out && (*env)->GetArrayLength(env, out) >= n)
        (*env)->SetLongArrayRegion(env, out, 0, n, values);
}

static jint JNICALL n_probe_region(JNIEnv *env, jclass cls, jlong handle, jlong pid, jlong start, jlong end,
                                   jlong offset, jlong inode, jint dev_major, jint dev_minor, jint perms, jint kind,
                                   jbyteArray path, jlongArray nums_out, jbyteArray head_out,
                                   jbyteArray section_out)
{
    (void)cls;
    ms_region region;
    char *p;
    if (region_from_java(env, start, end, offset, inode, dev_major, dev_minor, perms, kind, path, &region, &p) != MS_OK)
        return MS_E_NO_MEMORY;
    ms_region_probe_result res;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    ms_status st = ms_region_probe(ms_jni_handle_of(handle)->agent, pid, &region, &res);
    free(p);
    if (st != MS_OK)
        return st;
    jlong nums[8] = {res.header,        res.flags,    res.elf_type,           res.machine,
                     (jlong)res.fs_magic, res.head_len, res.image_section_perms, (jlong)res.elf_entry};
    put_longs(env, nums_out, nums, 8);
    if (head_out && res.head_len && (*env)->GetArrayLength(env, head_out) >= (jsize)res.head_len)
        (*env)->SetByteArrayRegion(env, head_out, 0, (jsize)res.head_len, (const jbyte *)res.head);
    const char *nul = memchr(res.image_section, '\0', sizeof res.image_section);
    jsize section_len = nul ? (jsize)(nul - res.image_section) : 0;
    if (section_out && section_len && (*env)->GetArrayLength(env, section_out) >= section_len)
        (*env)->SetByteArrayRegion(env, section_out, 0, section_len, (const jbyte *)res.image_section);
    return MS_OK;
}

static int diff_to_java(const ms_code_diff *d, void *user_data)
{
    sink_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    jbyteArray mem = ms_jni_bytes(env, d->mem, d->sample_len);
    jbyteArray file = mem ? ms_jni_bytes(env, d->file, d->sample_len) : NULL;
    jboolean more = JNI_FALSE;
    if (file)
        more = (*env)->CallBooleanMethod(env, ctx->sink, diff_accept, (jlong)d->page, (jlong)d->first_diff,
                                         (jint)d->diff_bytes, mem, file);
    (*env)->DeleteLocalRef(env, mem);
    (*env)->DeleteLocalRef(env, file);
    return (*env)->ExceptionCheck(env) || !more;
}

static jint JNICALL n_compare_region(JNIEnv *env, jclass cls, jlong handle, jlong pid, jlong start, jlong end,
                                     jlong offset, jlong inode, jint dev_major, jint dev_minor, jint perms, jint kind,
                                     jbyteArray path, jint flags, jlong timeout_ms, jobject sink, jlongArray stats_out)
{
    (void)cls;
    ms_region region;
    char *p;
    if (region_from_java(env, start, end, offset, inode, dev_major, dev_minor, perms, kind, path, &region, &p) != MS_OK)
        return MS_E_NO_MEMORY;
    ms_compare_options opts;
    memset(&opts, 0, sizeof opts);
    opts.struct_size = sizeof opts;
    opts.flags = (uint32_t)flags;
    opts.timeout_ms = timeout_ms;
    ms_compare_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    sink_ctx ctx = {env, sink};
    ms_status st = ms_region_compare_file(ms_jni_handle_of(handle)->agent, pid, &region, &opts, diff_to_java, &ctx,
                                          &stats);
    free(p);
    jlong nums[5] = {(jlong)stats.pages_total, (jlong)stats.pages_resident, (jlong)stats.pages_private,
                     (jlong)stats.pages_compared, (jlong)stats.pages_differing};
    if (!(*env)->ExceptionCheck(env))
        put_longs(env, stats_out, nums, 5);
    return st;
}

static int thread_to_java(const ms_thread_info *t, void *user_data)
{
    sink_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    jbyteArray name = ms_jni_cstr(env, t->name);
    if (!name)
        return 1;
    jboolean more = (*env)->CallBooleanMethod(env, ctx->sink, thread_accept, (jlong)t->tid, (jint)t->flags,
                                              (jlong)t->syscall, (jlong)t->sp, (jlong)t->pc, name);
    (*env)->DeleteLocalRef(env, name);
    return (*env)->ExceptionCheck(env) || !more;
}

static jint JNICALL n_list_threads(JNIEnv *env, jclass cls, jlong handle, jlong pid, jobject sink)
{
    (void)cls;
    sink_ctx ctx = {env, sink};
    return ms_thread_list(ms_jni_handle_of(handle)->agent, pid, thread_to_java, &ctx);
}

static jint JNICALL n_process_facts(JNIEnv *env, jclass cls, jlong handle, jlong pid, jlongArray nums_out,
                                    jobjectArray strings_out)
{
    (void)cls;
    ms_process_facts *f = calloc(1, sizeof *f);
    if (!f)
        return MS_E_NO_MEMORY;
    f->struct_size = sizeof *f;
    ms_status st = ms_process_facts_get(ms_jni_handle_of(handle)->agent, pid, f);
    if (st == MS_OK) {
        jlong nums[8] = {f->flags,         f->tracer_pid,    f->threads,
                         (jlong)f->exe_inode, f->exe_dev_major, f->exe_dev_minor,
                         (jlong)f->exe_fs_magic, (jlong)f->exe_size};
        put_longs(env, nums_out, nums, 8);
        const char *values[2] = {f->ld_preload, f->ld_audit};
        for (jsize i = 0; i < 2 && strings_out && i < (*env)->GetArrayLength(env, strings_out); i++) {
            jbyteArray b = ms_jni_cstr(env, values[i]);
            if (!b)
                break;
            (*env)->SetObjectArrayElement(env, strings_out, i, b);
            (*env)->DeleteLocalRef(env, b);
        }
    }
    free(f);
    return st;
}

static int module_to_java(const ms_module_info *m, void *user_data)
{
    sink_ctx *ctx = user_data;
    JNIEnv *env = ctx->env;
    jbyteArray path = ms_jni_cstr(env, m->path);
    jbyteArray soname = path ? ms_jni_cstr(env, m->soname) : NULL;
    jbyteArray at = soname ? ms_jni_cstr(env, m->writable_at) : NULL;
    jboolean more = JNI_FALSE;
    if (at)
        more = (*env)->CallBooleanMethod(env, ctx->sink, module_accept, (jlong)m->start, (jlong)m->exec_start,
                                         (jlong)m->inode, (jint)m->dev_major, (jint)m->dev_minor, (jint)m->flags,
                                         (jint)m->owner_uid, (jint)m->mode, (jint)m->process_uid, (jint)m->elf_type,
                                         path, soname, at);
    (*env)->DeleteLocalRef(env, path);
    (*env)->DeleteLocalRef(env, soname);
    (*env)->DeleteLocalRef(env, at);
    return (*env)->ExceptionCheck(env) || !more;
}

static jint JNICALL n_list_modules(JNIEnv *env, jclass cls, jlong handle, jlong pid, jobject sink)
{
    (void)cls;
    sink_ctx ctx = {env, sink};
    return ms_module_list(ms_jni_handle_of(handle)->agent, pid, module_to_java, &ctx);
}

jint ms_jni_register_inspect(JNIEnv *env, jclass bridge)
{
    diff_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$CodeDiffSink", "accept", "(JJI[B[B)Z");
    thread_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$ThreadSink", "accept", "(JIJJJ[B)Z");
    module_accept = ms_jni_method_of(env, "dev/memsentry/agent/NativeBridge$ModuleSink", "accept",
                                     "(JJJIIIIIII[B[B[B)Z");
    if (!diff_accept || !thread_accept || !module_accept)
        return JNI_ERR;
    static const JNINativeMethod methods[] = {
        {"probeRegion", "(JJJJJJIIII[B[J[B[B)I", (void *)n_probe_region},
        {"compareRegion", "(JJJJJJIIII[BIJLdev/memsentry/agent/NativeBridge$CodeDiffSink;[J)I",
         (void *)n_compare_region},
        {"listThreads", "(JJLdev/memsentry/agent/NativeBridge$ThreadSink;)I", (void *)n_list_threads},
        {"processFacts", "(JJ[J[[B)I", (void *)n_process_facts},
        {"listModules", "(JJLdev/memsentry/agent/NativeBridge$ModuleSink;)I", (void *)n_list_modules},
    };
    return (*env)->RegisterNatives(env, bridge, methods, (jint)(sizeof methods / sizeof methods[0]));
}
