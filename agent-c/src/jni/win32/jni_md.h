/* The machine-dependent JNI definitions for 64-bit Windows, for building
 * memsentry.dll on Linux with mingw-w64 against a Linux JDK's jni.h (no
 * Windows JDK is at hand there). The types match what a Windows JDK's
 * include/win32/jni_md.h declares, so the DLL's ABI is the one a Windows JVM
 * expects: jint is 32 bits (long is 32 bits on Windows), jlong 64 bits. */
#ifndef MS_JNI_MD_WIN32_H
#define MS_JNI_MD_WIN32_H

#ifndef _WIN32
#  error "this jni_md.h is for Windows targets only"
#endif

#ifndef JNIEXPORT
#  define JNIEXPORT __declspec(dllexport)
#endif
#define JNIIMPORT __declspec(dllimport)
#define JNICALL __stdcall

typedef long jint;
typedef __int64 jlong;
typedef signed char jbyte;

#endif
