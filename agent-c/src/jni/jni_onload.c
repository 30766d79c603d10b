#include "jni_internal.h"

#include <string.h>

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved);

jbyteArray ms_jni_bytes(JNIEnv *env, const void *data, size_t len)
{
    if (len > INT32_MAX)
        len = INT32_MAX;
    jbyteArray array = (*env)->NewByteArray(env, (jsize)len);
    if (array && len)
        (*env)->SetByteArrayRegion(env, array, 0, (jsize)len, (const jbyte *)data);
    return array;
}

jbyteArray ms_jni_cstr(JNIEnv *env, const char *s)
{
    return ms_jni_bytes(env, s ? s : "", s ? strlen(s) : 0);
}

jmethodID ms_jni_method_of(JNIEnv *env, const char *cls_name, const char *name, const char *sig)
{
    jclass cls = (*env)->FindClass(env, cls_name);
    if (!cls)
        return NULL;
    jmethodID id = (*env)->GetMethodID(env, cls, name, sig);
    (*env)->DeleteLocalRef(env, cls);
    return id;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    (void)reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return JNI_ERR;
    jclass bridge = (*env)->FindClass(env, MS_JNI_BRIDGE_CLASS);
    if (!bridge)
        return JNI_ERR;
    if (ms_jni_register_core(env, bridge) != JNI_OK)
        return JNI_ERR;
    if (ms_jni_register_terminate(env, bridge) != JNI_OK)
        return JNI_ERR;
    if (ms_jni_register_yara(env, bridge) != JNI_OK)
        return JNI_ERR;
    if (ms_jni_register_dump(env, bridge) != JNI_OK)
        return JNI_ERR;
    if (ms_jni_register_inspect(env, bridge) != JNI_OK)
        return JNI_ERR;
    if (ms_jni_register_trace(env, bridge) != JNI_OK)
        return JNI_ERR;
    if (ms_jni_register_watch(env, bridge) != JNI_OK)
        return JNI_ERR;
    (*env)->DeleteLocalRef(env, bridge);
    return JNI_VERSION_1_8;
}
