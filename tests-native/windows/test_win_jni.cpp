// memsentry.dll's JNI entry points, loaded with LoadLibrary under Wine: no
// Windows JVM exists here, so a minimal JavaVM/JNIEnv records what
// JNI_OnLoad registers and serves the few calls the natives make. This checks
// what only the DLL can show (exported JNI_OnLoad, the JNICALL ABI, natives
// reaching the Windows platform layer), not the Java side, which the Linux
// JUnit tests cover against the same glue.
#include <gtest/gtest.h>

#if MS_TEST_JNI

#include <jni.h>

#include <cstdarg>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <memsentry/memsentry.h>

#include "victim_win.hpp"

namespace {

struct FakeJvm {
    JNINativeInterface_ fns{};
    JNIEnv env{};
    JNIInvokeInterface_ vm_fns{};
    JavaVM vm{};
    std::map<std::string, std::pair<std::string, void *>> natives; // name -> (signature, function)
    std::deque<std::string> objects;                               // byte arrays and strings we handed out
    std::vector<jlong> long_array;                                 // the one long[] the natives write
    int long_array_tag = 0;                                        // its handle, where a native takes one
    std::vector<std::pair<jlong, std::string>> processes;          // pid, image name from ProcessSink.accept
    jobject sink_class = reinterpret_cast<jobject>(0x5151);
};

// The fixture's fake; JNI functions get only the env or vm pointer, and one
// test runs at a time.
FakeJvm *current;

FakeJvm *of(JNIEnv *env)
{
    EXPECT_EQ(env, &current->env);
    return current;
}

FakeJvm *of(JavaVM *vm)
{
    EXPECT_EQ(vm, &current->vm);
    return current;
}

std::string *text(jobject o) { return reinterpret_cast<std::string *>(o); }

jint JNICALL get_env(JavaVM *vm, void **penv, jint)
{
    *penv = &of(vm)->env;
    return JNI_OK;
}

jclass JNICALL find_class(JNIEnv *env, const char *)
{
    return reinterpret_cast<jclass>(of(env)->sink_class);
}

jmethodID JNICALL get_method_id(JNIEnv *, jclass, const char *, const char *)
{
    static int dummy;
    return reinterpret_cast<jmethodID>(&dummy);
}

void JNICALL delete_local_ref(JNIEnv *, jobject) {}

// The YARA glue keeps a global reference to byte[]'s class.
jobject JNICALL new_global_ref(JNIEnv *, jobject o) { return o; }

jint JNICALL register_natives(JNIEnv *env, jclass, const JNINativeMethod *methods, jint n)
{
    for (jint i = 0; i < n; i++)
        of(env)->natives[methods[i].name] = {methods[i].signature, methods[i].fnPtr};
    return JNI_OK;
}

jint JNICALL get_java_vm(JNIEnv *env, JavaVM **vm)
{
    *vm = &of(env)->vm;
    return JNI_OK;
}

jstring JNICALL new_string_utf(JNIEnv *env, const char *s)
{
    of(env)->objects.emplace_back(s);
    return reinterpret_cast<jstring>(&of(env)->objects.back());
}

jbyteArray JNICALL new_byte_array(JNIEnv *env, jsize len)
{
    of(env)->objects.emplace_back(static_cast<size_t>(len), '\0');
    return reinterpret_cast<jbyteArray>(&of(env)->objects.back());
}

void JNICALL set_byte_array_region(JNIEnv *, jbyteArray a, jsize start, jsize len, const jbyte *buf)
{
    std::memcpy(&(*text(a))[start], buf, static_cast<size_t>(len));
}

// Byte arrays are the strings in objects; the one long[] has room for any native's output.
jsize JNICALL get_array_length(JNIEnv *env, jarray a)
{
    if (reinterpret_cast<int *>(a) == &of(env)->long_array_tag)
        return 64;
    return static_cast<jsize>(text(a)->size());
}

void JNICALL get_byte_array_region(JNIEnv *, jbyteArray a, jsize start, jsize len, jbyte *buf)
{
    std::memcpy(buf, text(a)->data() + start, static_cast<size_t>(len));
}

void JNICALL set_long_array_region(JNIEnv *env, jlongArray, jsize start, jsize len, const jlong *buf)
{
    auto &v = of(env)->long_array;
    v.resize(std::max<size_t>(v.size(), static_cast<size_t>(start + len)));
    std::memcpy(&v[start], buf, static_cast<size_t>(len) * sizeof(jlong));
}

jboolean JNICALL exception_check(JNIEnv *) { return JNI_FALSE; }

// ProcessSink.accept(JJJI[B[B[B)Z: the only Java method listProcesses calls.
jboolean JNICALL call_boolean_method(JNIEnv *env, jobject, jmethodID method, ...)
{
    va_list ap;
    va_start(ap, method);
    jlong pid = va_arg(ap, jlong);
    va_arg(ap, jlong); // ppid
    va_arg(ap, jlong); // uid
    va_arg(ap, jint);  // flags
    jbyteArray name = va_arg(ap, jbyteArray);
    va_end(ap);
    of(env)->processes.emplace_back(pid, *text(name));
    return JNI_TRUE;
}

std::wstring dll_path() { return test_exe_dir() + L"\\memsentry.dll"; }

class JniUnderWine : public ::testing::Test {
protected:
    void SetUp() override
    {
        current = &jvm;
        jvm.fns.FindClass = find_class;
        jvm.fns.GetMethodID = get_method_id;
        jvm.fns.DeleteLocalRef = delete_local_ref;
        jvm.fns.NewGlobalRef = new_global_ref;
        jvm.fns.RegisterNatives = register_natives;
        jvm.fns.GetJavaVM = get_java_vm;
        jvm.fns.NewStringUTF = new_string_utf;
        jvm.fns.NewByteArray = new_byte_array;
        jvm.fns.SetByteArrayRegion = set_byte_array_region;
        jvm.fns.SetLongArrayRegion = set_long_array_region;
        jvm.fns.GetArrayLength = get_array_length;
        jvm.fns.GetByteArrayRegion = get_byte_array_region;
        jvm.fns.ExceptionCheck = exception_check;
        jvm.fns.CallBooleanMethod = call_boolean_method;
        jvm.env.functions = &jvm.fns;
        jvm.vm_fns.GetEnv = get_env;
        jvm.vm.functions = &jvm.vm_fns;
        dll = LoadLibraryW(dll_path().c_str());
        ASSERT_NE(dll, nullptr) << "LoadLibrary " << narrow(dll_path()) << ": error " << GetLastError();
        auto on_load = reinterpret_cast<jint(JNICALL *)(JavaVM *, void *)>(
            reinterpret_cast<void (*)()>(GetProcAddress(dll, "JNI_OnLoad")));
        ASSERT_NE(on_load, nullptr);
        ASSERT_EQ(on_load(&jvm.vm, nullptr), JNI_VERSION_1_8);
    }

    void TearDown() override
    {
        if (dll)
            FreeLibrary(dll);
        current = nullptr;
    }

    template <typename Fn> Fn native(const std::string &name, const std::string &signature)
    {
        auto it = jvm.natives.find(name);
        if (it == jvm.natives.end()) {
            ADD_FAILURE() << name << " not registered";
            return nullptr;
        }
        EXPECT_EQ(it->second.first, signature) << name;
        return reinterpret_cast<Fn>(it->second.second);
    }

    FakeJvm jvm;
    HMODULE dll = nullptr;
    jclass cls = nullptr;
};

TEST_F(JniUnderWine, OnLoadRegistersTheBridgeNatives)
{
    for (const char *name : {"versionNumber", "version", "open", "close", "listProcesses", "listRegions", "readMemory",
                             "probeRegion", "compareRegion", "listThreads", "processFacts"})
        EXPECT_TRUE(jvm.natives.count(name)) << name;
    auto version_number = native<jint(JNICALL *)(JNIEnv *, jclass)>("versionNumber", "()I");
    ASSERT_NE(version_number, nullptr);
    EXPECT_EQ(version_number(&jvm.env, cls), MS_VERSION_NUMBER);
    auto version = native<jstring(JNICALL *)(JNIEnv *, jclass)>("version", "()Ljava/lang/String;");
    ASSERT_NE(version, nullptr);
    EXPECT_EQ(*text(version(&jvm.env, cls)), MS_VERSION_STRING);
}

TEST_F(JniUnderWine, ListProcessesThroughTheDllFindsOurVictim)
{
    Victim v("victim_win_marker");
    auto open = native<jint(JNICALL *)(JNIEnv *, jclass, jlongArray)>("open", "([J)I");
    auto list = native<jint(JNICALL *)(JNIEnv *, jclass, jlong, jobject)>(
        "listProcesses", "(JLdev/memsentry/agent/NativeBridge$ProcessSink;)I");
    auto close = native<void(JNICALL *)(JNIEnv *, jclass, jlong)>("close", "(J)V");
    ASSERT_TRUE(open && list && close);
    ASSERT_EQ(open(&jvm.env, cls, nullptr), MS_OK);
    ASSERT_EQ(jvm.long_array.size(), 1u);
    jlong handle = jvm.long_array[0];
    EXPECT_EQ(list(&jvm.env, cls, handle, nullptr), MS_OK);
    close(&jvm.env, cls, handle);
    bool found = false;
    for (auto &p : jvm.processes)
        if (p.first == (jlong)v.pid()) {
            found = true;
            EXPECT_EQ(p.second, "victim_win_marker.exe");
        }
    EXPECT_TRUE(found) << "victim " << v.pid() << " not among " << jvm.processes.size() << " processes";
}

// NativeAgent.probeRegion's path through the DLL: the image-protection flag,
// the section's rights and its name reach the Java arrays.
TEST_F(JniUnderWine, ProbeRegionCarriesTheImageSectionThroughTheDll)
{
    Victim v("victim_win_reprotect");
    // The region as the Java side would pass it, from the static library's listing.
    struct Found {
        uint64_t page;
        ms_region region;
        std::string path;
    } found{v.hex("page"), {}, ""};
    ms_agent *lister = nullptr;
    ASSERT_EQ(ms_agent_open(&lister), MS_OK);
    EXPECT_EQ(ms_region_list(lister, v.pid(), [](const ms_region *r, void *u) {
                  auto *f = static_cast<Found *>(u);
                  if (r->start <= f->page && f->page < r->end) {
                      f->region = *r;
                      f->path = r->path;
                  }
                  return 0;
              }, &found),
              MS_OK);
    ms_agent_close(lister);
    ASSERT_NE(found.region.end, 0u);

    auto open = native<jint(JNICALL *)(JNIEnv *, jclass, jlongArray)>("open", "([J)I");
    auto probe = native<jint(JNICALL *)(JNIEnv *, jclass, jlong, jlong, jlong, jlong, jlong, jlong, jint, jint, jint,
                                        jint, jbyteArray, jlongArray, jbyteArray, jbyteArray)>(
        "probeRegion", "(JJJJJJIIII[B[J[B[B)I");
    auto close = native<void(JNICALL *)(JNIEnv *, jclass, jlong)>("close", "(J)V");
    ASSERT_TRUE(open && probe && close);
    ASSERT_EQ(open(&jvm.env, cls, nullptr), MS_OK);
    jlong handle = jvm.long_array[0];
    jvm.long_array.clear();
    auto bytes = [&](std::string content) {
        jvm.objects.push_back(std::move(content));
        return reinterpret_cast<jbyteArray>(&jvm.objects.back());
    };
    jbyteArray path = bytes(found.path), head = bytes(std::string(16, '\0')), section = bytes(std::string(8, '\0'));
    auto nums = reinterpret_cast<jlongArray>(&jvm.long_array_tag);
    const ms_region &r = found.region;
    EXPECT_EQ(probe(&jvm.env, cls, handle, v.pid(), (jlong)r.start, (jlong)r.end, (jlong)r.offset, (jlong)r.inode,
                    (jint)r.dev_major, (jint)r.dev_minor, (jint)r.perms, r.kind, path, nums, head, section),
              MS_OK);
    close(&jvm.env, cls, handle);
    // header, flags, ELF type, machine, fs magic, head length, section rights, ELF entry
    ASSERT_EQ(jvm.long_array.size(), 8u);
    EXPECT_TRUE(jvm.long_array[1] & MS_PROBE_IMAGE_PROTECTION) << std::hex << jvm.long_array[1];
    EXPECT_EQ(jvm.long_array[6], (jlong)MS_PERM_READ);
    EXPECT_EQ(jvm.long_array[7], 0) << "a PE section has no ELF entry point";
    EXPECT_EQ(std::string(text(section)->c_str()), v.fact("section"));
}

} // namespace

#endif
