/* Shared by the JNI glue files. The glue only translates between Java and the
 * C API: no logic lives here. */
#ifndef MS_JNI_INTERNAL_H
#define MS_JNI_INTERNAL_H

#include <jni.h>
#include <memsentry/memsentry.h>

#define MS_JNI_BRIDGE_CLASS "dev/memsentry/agent/NativeBridge"

/* What a Java handle (a jlong) points at. */
typedef struct ms_jni_handle {
    ms_agent *agent;
    JavaVM *vm;
    jobject log_sink; /* global ref or NULL */
} ms_jni_handle;

static inline ms_jni_handle *ms_jni_handle_of(jlong handle)
{
    return (ms_jni_handle *)(intptr_t)handle;
}

/* A new byte[] holding len bytes of data, or NULL with an exception pending. */
jbyteArray ms_jni_bytes(JNIEnv *env, const void *data, size_t len);
/* Same, for a NUL-terminated string (NULL gives an empty array). */
jbyteArray ms_jni_cstr(JNIEnv *env, const char *s);
/* The id of an instance method of the named class (for caching at registration), or NULL with an
 * exception pending. */
jmethodID ms_jni_method_of(JNIEnv *env, const char *cls_name, const char *name, const char *sig);

/* Each glue file registers its natives on the bridge class; called from JNI_OnLoad. */
jint ms_jni_register_core(JNIEnv *env, jclass bridge);
jint ms_jni_register_terminate(JNIEnv *env, jclass bridge);
jint ms_jni_register_yara(JNIEnv *env, jclass bridge);
jint ms_jni_register_dump(JNIEnv *env, jclass bridge);
jint ms_jni_register_inspect(JNIEnv *env, jclass bridge);
jint ms_jni_register_trace(JNIEnv *env, jclass bridge);
jint ms_jni_register_watch(JNIEnv *env, jclass bridge);

#endif
